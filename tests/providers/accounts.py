"""Each hosted provider's loopback server with an admin account pointed at it, and the
fields of a job its first model can make, for the tests that run every provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.providers.loopback import LoopbackServer

Setup = tuple[LoopbackServer, Callable[[Any], Any], dict[str, Any]]


def _runway(tmp: Path) -> Setup:
    from providers.runway.models import RunwayAccount
    from tests.providers.runway.server import API_KEY, RunwayServer

    server = RunwayServer()
    return (
        server,
        lambda s: RunwayAccount.objects.create(api_key=API_KEY, base_url=s.base_url),
        {"model": "gen4.5", "seconds": 5},
    )


def _luma(tmp: Path) -> Setup:
    from providers.luma.models import LumaAccount
    from tests.providers.luma.server import API_KEY, LumaServer

    server = LumaServer()
    return (
        server,
        lambda s: LumaAccount.objects.create(api_key=API_KEY, base_url=s.base_url),
        {"model": "ray-2", "seconds": 5},
    )


def _fal(tmp: Path) -> Setup:
    from providers.fal.models import FalAccount
    from tests.providers.fal.server import API_KEY, FalServer

    server = FalServer()
    return (
        server,
        lambda s: FalAccount.objects.create(api_key=API_KEY, base_url=s.base_url),
        {"model": "kling-2.1", "seconds": 5},
    )


def _replicate(tmp: Path) -> Setup:
    from providers.replicate.models import ReplicateAccount
    from tests.providers.replicate.server import API_TOKEN, ReplicateServer

    server = ReplicateServer()
    return (
        server,
        lambda s: ReplicateAccount.objects.create(api_key=API_TOKEN, base_url=s.base_url),
        {"model": "wan-video/wan-2.2-t2v-fast", "seconds": 5},
    )


def _veo(tmp: Path) -> Setup:
    from providers.veo.models import VeoAccount
    from tests.providers.veo.server import VeoServer, service_account_file

    server = VeoServer()

    def account(s: Any) -> Any:
        key = service_account_file(tmp, s.token_uri)
        return VeoAccount.objects.create(
            project="studio-test", credentials_file=str(key), base_url=s.base_url
        )

    return server, account, {"model": "veo-3.1-generate-001", "seconds": 8}


SETUPS: dict[str, Callable[[Path], Setup]] = {
    "fal": _fal,
    "luma": _luma,
    "replicate": _replicate,
    "runway": _runway,
    "veo": _veo,
}


@contextmanager
def hosted_account(slug: str, tmp: Path) -> Iterator[tuple[LoopbackServer, dict[str, Any]]]:
    """The provider's running server, with an account configured for it in admin."""
    server, make_account, fields = SETUPS[slug](tmp)
    with server:
        make_account(server)
        yield server, fields
