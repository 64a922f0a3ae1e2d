"""App config for delivery: finishing, which file a viewer gets, Verify."""

from __future__ import annotations

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
