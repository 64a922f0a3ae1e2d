"""The provider registry: slugs mapped to adapter classes, imported only when first used.

Built-in providers have fixed slugs. OpenAI-compatible endpoints are configured (admin rows
and ``STUDIO_OPENAI_ENDPOINTS``) and answer to ``openai-<slug>``; their provider is cached by
its whole configuration, so an endpoint edited in admin takes effect at the next lookup.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError

from generations.providers.base import Provider

if TYPE_CHECKING:
    from generations.providers.openai_compat import EndpointConfig

log = logging.getLogger(__name__)

PROVIDERS: dict[str, str] = {
    "offline": "generations.providers.offline.OfflineProvider",
    "diffusers": "generations.providers.diffusers_gpu.DiffusersProvider",
}
ENDPOINT_PREFIX = "openai-"


class UnknownProvider(LookupError):
    pass


def get_provider(slug: str) -> Provider:
    if slug.startswith(ENDPOINT_PREFIX):
        config = endpoint_config(slug.removeprefix(ENDPOINT_PREFIX))
        if config is None:
            raise UnknownProvider(f"No provider named {slug!r}.")
        return _endpoint_provider(config)
    return _builtin_provider(slug)


@cache
def _builtin_provider(slug: str) -> Provider:
    try:
        dotted = PROVIDERS[slug]
    except KeyError:
        raise UnknownProvider(f"No provider named {slug!r}.") from None
    module_name, class_name = dotted.rsplit(".", 1)
    cls: type[Provider] = getattr(import_module(module_name), class_name)
    return cls()


@cache
def _endpoint_provider(config: EndpointConfig) -> Provider:
    from generations.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(config)


def endpoint_configs() -> list[EndpointConfig]:
    """Every configured endpoint, enabled or not: the environment's, then admin's (an admin
    row replaces an environment entry with the same slug)."""
    from generations.providers.openai_compat import EndpointConfig

    found: dict[str, EndpointConfig] = {}
    raw = settings.STUDIO_OPENAI_ENDPOINTS
    try:
        entries = json.loads(raw) if raw else []
        for entry in entries:
            config = EndpointConfig.from_mapping(entry)
            found[config.slug] = config
    except (ValueError, KeyError, TypeError) as exc:
        log.error("STUDIO_OPENAI_ENDPOINTS is not a JSON list of endpoints: %s", exc)
    from generations.models import VideoEndpoint

    try:
        for row in VideoEndpoint.objects.all():
            found[row.slug] = EndpointConfig.from_row(row)
    except DatabaseError as exc:
        log.warning("video endpoints could not be read: %s", exc)
    return list(found.values())


def endpoint_config(slug: str) -> EndpointConfig | None:
    return next((c for c in endpoint_configs() if c.slug == slug), None)


def available_providers() -> list[Provider]:
    """Providers the dashboard offers now, the default first."""
    default = settings.STUDIO_DEFAULT_PROVIDER
    providers = [get_provider(slug) for slug in PROVIDERS]
    providers += [_endpoint_provider(c) for c in endpoint_configs() if c.enabled]
    available = [p for p in providers if p.is_available()]
    return sorted(available, key=lambda p: p.slug != default)
