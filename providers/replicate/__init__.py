"""Replicate's predictions API for hosted video models, through the ``replicate`` SDK."""
