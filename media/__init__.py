"""Media helpers with no Django in them: probing uploads, rendering, posters."""

from __future__ import annotations

from media.errors import MediaError

__all__ = ["MediaError"]
