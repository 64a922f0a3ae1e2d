"""The sign-in backend: Django's ModelBackend, with the signed-in user kept in the shared
cache between requests when there is one (STUDIO_CACHE_SHARED), so a poll does not read
the user row every time. Saving or deleting a user drops its cached copy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save


def _key(user_id: object) -> str:
    return f"studio:auth-user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        """The active user with this id, from the shared cache when it holds it (a copy at
        most STUDIO_USER_CACHE_SECONDS old, dropped whenever the user is saved), else from
        the database. Without a shared cache this is ModelBackend.get_user exactly."""
        if not settings.STUDIO_CACHE_SHARED:
            return super().get_user(user_id)
        user: User | None = cache.get(_key(user_id))
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cache.set(_key(user_id), user, settings.STUDIO_USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


def _forget(sender: type[Any], instance: AbstractBaseUser, **kwargs: Any) -> None:
    if settings.STUDIO_CACHE_SHARED:
        cache.delete(_key(instance.pk))


def connect() -> None:
    """Drop a user's cached copy whenever the user row is saved or deleted."""
    user_model = get_user_model()
    post_save.connect(_forget, sender=user_model, dispatch_uid="studio-forget-cached-user")
    post_delete.connect(_forget, sender=user_model, dispatch_uid="studio-forget-cached-user-d")
