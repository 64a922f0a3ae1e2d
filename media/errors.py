"""The one error media code raises: its text is a plain message fit for a creator."""

from __future__ import annotations


class MediaError(Exception):
    """A file is not a supported, intact image or video within the limits."""

    @property
    def message(self) -> str:
        return str(self)
