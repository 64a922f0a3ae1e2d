"""Shared plumbing with no models: stored-file access, byte-range serving, the one seam to
Celery, and the typed request of a signed-in page. Imports nothing of Studio's apps."""
