"""The provider registry: slugs mapped to adapter classes, imported only when first used."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.conf import settings

from generations.providers.base import Provider

PROVIDERS: dict[str, str] = {
    "offline": "generations.providers.offline.OfflineProvider",
    "diffusers": "generations.providers.diffusers_gpu.DiffusersProvider",
}


class UnknownProvider(LookupError):
    pass


@cache
def get_provider(slug: str) -> Provider:
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
    available = [p for p in providers if p.is_available()]
    return sorted(available, key=lambda p: p.slug != default)
