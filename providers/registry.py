"""The provider registry: slugs mapped to adapter classes, imported only when first used.

Built-in providers have fixed slugs. OpenAI-compatible endpoints are configured (admin rows
and ``STUDIO_OPENAI_ENDPOINTS``) and answer to ``openai-<slug>``; their provider is cached by
its whole configuration, so an endpoint edited in admin takes effect at the next lookup.
The registry is the only module that knows every backend; no backend imports it.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.conf import settings

from providers.base import Provider
from providers.openai_compat.config import ENDPOINT_PREFIX, endpoint_config, endpoint_configs
from providers.openai_compat.provider import endpoint_provider

# Built-in backends by slug, as dotted paths: a backend's module (and its SDK) is imported
# the first time a job or a page needs it.
PROVIDERS: dict[str, str] = {
    "offline": "providers.offline.provider.OfflineProvider",
    "diffusers": "providers.diffusers.provider.DiffusersProvider",
    "runway": "providers.runway.provider.RunwayProvider",
    "luma": "providers.luma.provider.LumaProvider",
    "fal": "providers.fal.provider.FalProvider",
    "replicate": "providers.replicate.provider.ReplicateProvider",
    "veo": "providers.veo.provider.VeoProvider",
}


class UnknownProvider(LookupError):
    pass


def get_provider(slug: str) -> Provider:
    """The provider named ``slug``. Raises UnknownProvider."""
    if slug.startswith(ENDPOINT_PREFIX):
        config = endpoint_config(slug.removeprefix(ENDPOINT_PREFIX))
        if config is None:
            raise UnknownProvider(f"No provider named {slug!r}.")
        return endpoint_provider(config)
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


def available_providers() -> list[Provider]:
    """Providers the dashboard offers now, the default first."""
    default = settings.STUDIO_DEFAULT_PROVIDER
    providers = [get_provider(slug) for slug in PROVIDERS]
    providers += [endpoint_provider(c) for c in endpoint_configs() if c.enabled]
    available = [p for p in providers if p.is_available()]
    return sorted(available, key=lambda p: p.slug != default)
