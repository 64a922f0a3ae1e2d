"""When the OpenAI-compatible provider looks at a job next: just after its expected finish
(from the server's progress, else this endpoint's past durations), never sooner than the
server asks, ever less often for a job with nothing to go on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import override_settings

from providers.openai_compat import schedule
from providers.registry import get_provider
from tests.providers.openai_compat.server import FakeVideoServer

pytestmark = pytest.mark.django_db

SLUG = "openai-sched"


@pytest.fixture(autouse=True)
def _poll_limits() -> Iterator[None]:
    with override_settings(STUDIO_POLL_MIN_SECONDS=1, STUDIO_POLL_MAX_SECONDS=30):
        cache.delete(schedule._history_key(SLUG))
        yield
        cache.delete(schedule._history_key(SLUG))


def look(age: float, progress: int = 0, history: tuple[float, ...] = (), webhooks: bool = False):
    return schedule.next_look(age=age, progress=progress, history=history, webhooks=webhooks)


def test_a_job_reporting_progress_is_looked_at_just_after_its_expected_finish():
    assert look(10, progress=40) == pytest.approx(15 + schedule.FINISH_MARGIN_SECONDS)
    assert look(55, progress=92) == pytest.approx(55 / 0.92 - 55 + 0.3)


def test_without_progress_the_endpoints_past_durations_give_the_finish():
    assert look(10, history=(58, 60, 61)) == 30  # 50.3 s away: capped at the ceiling
    assert look(50, history=(58, 60, 61)) == pytest.approx(10.3)


def test_with_nothing_to_go_on_or_past_every_estimate_looks_come_ever_less_often():
    assert look(0.5) == 1  # never sooner than STUDIO_POLL_MIN_SECONDS
    assert look(20) == pytest.approx(4)
    assert look(100) == pytest.approx(20)
    assert look(70, history=(60,)) == pytest.approx(14)  # overdue: back to a fifth of its age
    assert look(1000, progress=0) == 30  # never later than STUDIO_POLL_MAX_SECONDS


def test_with_webhooks_only_the_slow_safety_net_polls():
    assert look(20, progress=40, webhooks=True) == 30


def test_a_60_s_job_costs_a_handful_of_looks_and_is_seen_soon_after_it_ends():
    looks, now = [0.5], 0.5  # the pipeline's first look
    while now < 60:
        progress = int(100 * now / 60)
        now += look(now, progress=progress)
        looks.append(now)

    assert len(looks) <= 6
    assert 60 <= looks[-1] <= 61.5


def test_the_servers_poll_after_is_never_undercut_and_its_progress_times_the_look():
    with FakeVideoServer() as server:
        server.endpoint(SLUG.removeprefix("openai-"), sizes="1280x720", webhook_secret="")
        provider = get_provider(SLUG)
        job = server.add_job("p")
        job.render_seconds = 200
        job.created_at -= 100  # half done

        with override_settings(STUDIO_POLL_MAX_SECONDS=300):
            due = time.time() + provider.poll(job.id).retry_after
            server.poll_after_ms = 150_000
            asked = provider.poll(job.id).retry_after

        # Just after the finish; whole-second created_at and progress blur it by seconds.
        assert job.finishes_at() - 3 <= due <= job.finishes_at() + 3
        assert asked == pytest.approx(150)


def test_a_finished_job_adds_its_duration_to_the_endpoints_history():
    with FakeVideoServer() as server:
        server.endpoint(SLUG.removeprefix("openai-"), sizes="1280x720", webhook_secret="")
        provider = get_provider(SLUG)
        job = server.add_job("p")
        job.render_seconds = 12
        job.created_at -= 13  # finished a second ago
        assert schedule.durations(SLUG) == []

        provider.poll(job.id)

        assert schedule.durations(SLUG) == [pytest.approx(12, abs=1)]
