"""Luma Dream Machine's video API, driven through the official ``lumaai`` SDK."""
