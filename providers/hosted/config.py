"""A hosted backend's settings at one moment: its first enabled admin row, else the
environment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from providers.hosted.models import HostedAccount


def split_list(value: str | Iterable[Any]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


@dataclass(frozen=True)
class HostedConfig:
    """A backend's settings: from its admin row, else the environment."""

    api_key: str = ""
    base_url: str = ""
    models: tuple[str, ...] = ()
    webhook_secret: str = ""
    enabled: bool = True
    source: str = "environment"


def first_enabled(account_model: type[HostedAccount]) -> Any:
    """The first enabled admin row of ``account_model`` (None before migrations ran)."""
    try:
        return account_model._default_manager.filter(enabled=True).order_by("pk").first()
    except DatabaseError:
        return None


def load_config(
    account_model: type[HostedAccount], env_prefix: str, *, base_url_name: str = "BASE_URL"
) -> HostedConfig:
    """The first enabled admin row of ``account_model``, else the settings
    ``<env_prefix>_API_KEY``, ``_<base_url_name>``, ``_MODELS`` and ``_WEBHOOK_SECRET``."""
    row = first_enabled(account_model)
    if row is not None:
        return HostedConfig(
            api_key=row.api_key,
            base_url=row.base_url,
            models=split_list(row.model_ids),
            webhook_secret=row.webhook_secret,
            source="admin",
        )
    return HostedConfig(
        api_key=getattr(settings, f"{env_prefix}_API_KEY", ""),
        base_url=getattr(settings, f"{env_prefix}_{base_url_name}", ""),
        models=split_list(getattr(settings, f"{env_prefix}_MODELS", "")),
        webhook_secret=getattr(settings, f"{env_prefix}_WEBHOOK_SECRET", ""),
    )


def timeout_seconds() -> float:
    return float(settings.STUDIO_PROVIDER_TIMEOUT_SECONDS)
