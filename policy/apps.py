"""App config for policy: content rules, moderation, the face check and the refusal log."""

from __future__ import annotations

from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"
    default_auto_field = "django.db.models.BigAutoField"
