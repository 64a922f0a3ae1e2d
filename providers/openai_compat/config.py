"""The OpenAI-compatible endpoints Studio may generate on: from ``STUDIO_OPENAI_ENDPOINTS``
(JSON) and from admin's Video endpoints (a row replaces an environment entry with the same
slug). Each answers to the provider slug ``openai-<slug>``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from providers.openai_compat.models import VideoEndpoint

log = logging.getLogger(__name__)

ENDPOINT_PREFIX = "openai-"


def _split(value: str | Iterable[Any]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


@dataclass(frozen=True)
class EndpointConfig:
    """One OpenAI-compatible server, as configured in admin or in the environment."""

    slug: str
    name: str
    base_url: str
    api_key: str = ""
    model_ids: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ("1280x720", "720x1280")
    seconds: tuple[int, ...] = (4, 8, 12)
    image_input: bool = True
    remix: bool = False
    extend: bool = False
    webhook_secret: str = ""
    enabled: bool = True

    @property
    def provider_slug(self) -> str:
        return ENDPOINT_PREFIX + self.slug

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EndpointConfig:
        """From a ``VideoEndpoint``-shaped mapping; lists may be lists or comma strings."""
        return cls(
            slug=str(data["slug"]),
            name=str(data.get("name") or data["slug"]),
            base_url=str(data["base_url"]),
            api_key=str(data.get("api_key") or ""),
            model_ids=_split(data.get("model_ids") or ()),
            sizes=_split(data.get("sizes") or cls.sizes),
            seconds=tuple(int(s) for s in _split(data.get("seconds") or cls.seconds)),
            image_input=bool(data.get("image_input", True)),
            remix=bool(data.get("remix", False)),
            extend=bool(data.get("extend", False)),
            webhook_secret=str(data.get("webhook_secret") or ""),
            enabled=bool(data.get("enabled", True)),
        )

    @classmethod
    def from_row(cls, row: VideoEndpoint) -> EndpointConfig:
        """From a ``VideoEndpoint`` row."""
        fields = ("slug", "name", "base_url", "api_key", "model_ids", "sizes", "seconds")
        flags = ("image_input", "remix", "extend", "webhook_secret", "enabled")
        return cls.from_mapping({f: getattr(row, f) for f in fields + flags})


def endpoint_configs() -> list[EndpointConfig]:
    """Every configured endpoint, enabled or not: the environment's, then admin's (an admin
    row replaces an environment entry with the same slug)."""
    found: dict[str, EndpointConfig] = {}
    raw = settings.STUDIO_OPENAI_ENDPOINTS
    try:
        entries = json.loads(raw) if raw else []
        for entry in entries:
            config = EndpointConfig.from_mapping(entry)
            found[config.slug] = config
    except (ValueError, KeyError, TypeError) as exc:
        log.error("STUDIO_OPENAI_ENDPOINTS is not a JSON list of endpoints: %s", exc)
    try:
        for row in VideoEndpoint.objects.all():
            found[row.slug] = EndpointConfig.from_row(row)
    except DatabaseError as exc:
        log.warning("video endpoints could not be read: %s", exc)
    return list(found.values())


def endpoint_config(slug: str) -> EndpointConfig | None:
    """The endpoint named ``slug`` (without the ``openai-`` prefix), if one is configured."""
    return next((c for c in endpoint_configs() if c.slug == slug), None)
