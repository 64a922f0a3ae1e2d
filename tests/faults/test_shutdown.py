"""SIGTERM (what ``./dev run``'s Ctrl-C, ``docker compose stop`` and systemd send) stops a
worker quickly and cleanly, on Redis and on the embedded broker: an idle worker at once
(bench/shutdown.py measures how fast); a busy one gives back its render's lease and puts
the render back on the queue, so the next worker renders it without waiting out the stall
check. The bounds here are generous (a loaded CI machine); the figures are the bench's."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from generations import services
from generations.spec import GenerationSpec
from generations.states import State
from providers.offline.models import RenderLease
from tests.conftest import wait_final, wait_for
from tests.faults.conftest import assert_clean_end

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

IDLE_BOUND = 30.0  # seconds; about 1-2 s on a quiet machine (bench/shutdown.py)


def _group_alive(pgid: int) -> list[int]:
    """Processes of the worker's group still running (zombies aside)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _terminate(worker, bound: float) -> float:
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    code = worker.proc.wait(bound)
    took = time.monotonic() - started
    assert code == 0, worker.log.read_text()[-3000:]
    wait_for(lambda: not _group_alive(worker.proc.pid), 5, "the worker's processes to end")
    return took


def test_an_idle_worker_stops_at_once(broker, start_worker):
    worker = start_worker()
    time.sleep(1)  # past start-up: the pool, beat and the reaper are all running

    took = _terminate(worker, IDLE_BOUND)

    assert took < IDLE_BOUND


def test_a_busy_worker_requeues_its_render_and_gives_back_the_lease(broker, start_worker, user):
    first = start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="a long pan", resolution="720p", seconds=10, seed=4),
    )

    def rendering() -> bool:
        generation.refresh_from_db()
        return generation.state == State.RUNNING and generation.progress >= 2

    wait_for(rendering, 120, "the render to be under way")

    _terminate(first, IDLE_BOUND + 30)

    log = first.log.read_text()
    assert "the render is requeued" in log
    lease = RenderLease.objects.get(job_id=generation.provider_job_id)
    assert lease.holder == ""  # given back: the next render takes it at once
    generation.refresh_from_db()
    assert generation.state == State.RUNNING  # neither failed nor lost

    # The next worker renders it from the requeued message.
    start_worker()
    wait_for(
        lambda: (
            RenderLease.objects.filter(job_id=generation.provider_job_id)
            .exclude(holder="")
            .exists()
        ),
        60,
        "the requeued render to start",
    )
    wait_final(generation, timeout=300)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert_clean_end(generation)
