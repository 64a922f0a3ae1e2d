"""Every hosted provider with real Celery workers: a worker SIGKILLed while its create is
at the provider, then a new worker and the reaper. One job exists on the server, and the
generation ends right: found again where the provider can list its jobs (Luma, Replicate),
failed with a clear message where it cannot (Runway, fal, Veo), never sent twice. The new
worker has its own scratch folder (another machine): the marker of the create lives in the
database, not on a disk the workers share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generations import services
from generations.models import GenerationEvent
from generations.spec import GenerationSpec
from generations.states import State
from providers.hosted.models import SentCreate
from tests import conftest
from tests.conftest import wait_final, wait_for
from tests.providers.accounts import hosted_account
from tests.providers.loopback import LoopbackServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


# provider slug -> whether the job is found again after the crash
RECONCILES = {"fal": False, "luma": True, "replicate": True, "runway": False, "veo": False}


@pytest.fixture(params=sorted(RECONCILES))
def hosted(
    request: Any, tmp_path: Path
) -> Iterator[tuple[str, LoopbackServer, bool, dict[str, Any]]]:
    with hosted_account(request.param, tmp_path) as (server, fields):
        yield request.param, server, RECONCILES[request.param], fields


def test_a_worker_killed_during_the_create_never_makes_a_second_job(
    start_worker, hosted, user, tmp_path, monkeypatch
):
    slug, server, reconciles, fields = hosted
    server.stall_create.set()  # the server makes the job, then holds the answer
    first = start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="a slow dolly past a neon sign", provider=slug, **fields),
    )
    wait_for(server.create_arrived.is_set, 60, "the create to reach the server")
    first.kill()
    marker = SentCreate.objects.get(provider=slug)
    assert (marker.key, marker.job_id) == (str(generation.submit_key), "")
    server.stall_create.clear()
    server.release_create.set()
    shared_env = conftest.worker_env
    elsewhere = tmp_path / "another-machine"
    given: list[dict[str, str]] = []

    def another_machine(var: Path) -> dict[str, str]:
        given.append({**shared_env(var), "STUDIO_WORK_DIR": str(elsewhere)})
        return given[-1]

    monkeypatch.setattr(conftest, "worker_env", another_machine)
    start_worker()
    # The second worker was started with its own scratch folder (read from what it was
    # given: /proc/<pid>/environ reads empty for a process the kernel is still setting up
    # or reaping, which made this check flaky under load).
    assert [env["STUDIO_WORK_DIR"] for env in given] == [str(elsewhere)]

    wait_final(generation, timeout=120)

    assert server.calls["create"] == 1
    events = GenerationEvent.objects.filter(generation=generation)
    if reconciles:
        assert generation.state == State.SUCCEEDED, generation.error_message
        assert events.filter(message="found the job made before a crash").count() == 1
        assert generation.videos.count() == 1
    else:
        assert generation.state == State.FAILED
        assert generation.error_code == "unknown_outcome"
        assert "not sent again" in generation.error_message
