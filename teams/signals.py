"""Signals teams sends for the apps above it: ``member_left(team_id, user_id)`` after a
member leaves or is removed (the library takes their videos out of the team's folders)."""

from __future__ import annotations

from django.dispatch import Signal

member_left = Signal()
