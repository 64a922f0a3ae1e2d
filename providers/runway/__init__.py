"""Runway's video API, driven through the official ``runwayml`` SDK."""
