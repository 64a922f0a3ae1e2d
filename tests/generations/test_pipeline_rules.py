"""The pipeline's rules, driven step by step against a scripted provider (the one seam):
exactly-once submission, error sorting, deadlines and the reaper."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from generations import services
from generations.models import Generation
from generations.spec import GenerationSpec
from generations.states import State
from providers import registry
from providers.base import (
    Capabilities,
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    ModerationError,
    PermanentError,
    Provider,
    TransientError,
    nothing_taken,
)
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


class ScriptedProvider(Provider):
    """Answers from a script the test sets; records every call."""

    slug = "scripted"
    name = "Scripted"

    def __init__(self) -> None:
        self.submits: list[JobRequest] = []
        self.known: dict[str, str] = {}
        self.submit_error: Exception | None = None
        self.statuses: list[JobStatus | Exception] = []
        self.canceled: list[str] = []

    def capabilities(self, model: str = "") -> Capabilities:
        return Capabilities(models=("m1",))

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        return self.known.get(key)

    def submit(self, request: JobRequest) -> str:
        if self.submit_error:
            raise self.submit_error
        self.submits.append(request)
        self.known[request.key] = f"job-{len(self.submits)}"
        return self.known[request.key]

    def poll(self, job_id: str) -> JobStatus:
        answer = self.statuses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def download(self, job_id: str, dest: Path) -> list[Path]:
        raise PermanentError("not used here")

    def cancel(self, job_id: str) -> None:
        self.canceled.append(job_id)


@pytest.fixture
def provider(monkeypatch):
    """The scripted provider, answering to "scripted" wherever Studio looks one up."""
    scripted = ScriptedProvider()
    builtin = registry._builtin_provider
    monkeypatch.setattr(
        registry,
        "_builtin_provider",
        lambda slug: scripted if slug == "scripted" else builtin(slug),
    )
    return scripted


def _queued(user) -> Generation:
    return services.generation_create(
        owner=user, spec=GenerationSpec(prompt="a boat", provider="scripted")
    )


def _state(generation: Generation) -> str:
    generation.refresh_from_db()
    return generation.state


def test_submit_saves_the_job_id_and_moves_to_running(user, provider):
    generation = _queued(user)
    services.generation_submit(generation.pk)
    generation.refresh_from_db()
    assert generation.state == State.RUNNING
    assert generation.provider_job_id == "job-1"
    assert provider.submits[0].key == str(generation.submit_key)


def test_a_second_submit_task_sends_nothing(user, provider):
    generation = _queued(user)
    services.generation_submit(generation.pk)
    services.generation_submit(generation.pk)
    assert len(provider.submits) == 1


def test_a_submission_whose_outcome_was_lost_is_found_not_sent_again(user, provider):
    generation = _queued(user)
    # A worker sent the job and died before saving the id.
    provider.known[str(generation.submit_key)] = "job-made-before-the-crash"
    Generation.objects.filter(pk=generation.pk).update(state=State.SUBMITTING)

    services.generation_submit(generation.pk)

    generation.refresh_from_db()
    assert provider.submits == []
    assert generation.provider_job_id == "job-made-before-the-crash"
    assert generation.state == State.RUNNING


def test_a_submit_claimed_by_a_live_worker_is_left_to_it(user, provider):
    generation = _queued(user)
    Generation.objects.filter(pk=generation.pk).update(
        state=State.SUBMITTING, claimed_until=timezone.now() + timedelta(seconds=60)
    )
    services.generation_submit(generation.pk)
    assert provider.submits == []
    assert _state(generation) == State.SUBMITTING


def test_a_transient_submit_error_is_retried_later(
    user, provider, django_capture_on_commit_callbacks
):
    generation = _queued(user)
    provider.submit_error = TransientError("rate limited", retry_after=7)
    with django_capture_on_commit_callbacks() as callbacks:
        services.generation_submit(generation.pk)
    generation.refresh_from_db()
    assert generation.state == State.SUBMITTING
    assert generation.claimed_until is None
    # The retry, scheduled (beside the metrics of the move to submitting).
    assert [c for c in callbacks if "enqueue" in c.__qualname__] != []
    assert len([c for c in callbacks if "_observe_stage" not in c.__qualname__]) == 1


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (PermanentError("Bad size.", code="invalid"), State.FAILED),
        (ModerationError("Blocked by policy.", code="moderation_blocked"), State.REJECTED),
    ],
)
def test_a_permanent_submit_error_ends_the_job_with_its_message(user, provider, error, state):
    generation = _queued(user)
    provider.submit_error = error
    services.generation_submit(generation.pk)
    generation.refresh_from_db()
    assert generation.state == state
    assert generation.error_message == error.message
    assert generation.error_code == error.code


@pytest.mark.parametrize(
    ("status", "state", "code", "message"),
    [
        (
            JobStatus(JobState.FAILED, error_message="GPU fell over"),
            State.FAILED,
            "failed",
            "GPU fell over",
        ),
        (
            JobStatus(JobState.REJECTED, error_code="moderation_blocked"),
            State.REJECTED,
            "moderation_blocked",
            "The provider's content policy refused this prompt.",
        ),
        (JobStatus(JobState.CANCELED), State.CANCELED, "canceled", ""),
    ],
    ids=["failed", "rejected", "canceled"],
)
def test_a_provider_ending_maps_to_ours(user, provider, status, state, code, message):
    generation = _queued(user)
    services.generation_submit(generation.pk)
    provider.statuses = [status]
    assert services.generation_poll(generation.pk) is None
    generation.refresh_from_db()
    assert (generation.state, generation.error_code) == (state, code)
    # A cancel is no error to show; its reason is in the event log.
    assert generation.error_message == message
    assert generation.events.get(to_state=state).message == (
        message or "The provider canceled the job."
    )


def test_polling_shows_progress_and_honours_the_providers_hint(user, provider):
    generation = _queued(user)
    services.generation_submit(generation.pk)
    provider.statuses = [
        JobStatus(JobState.RUNNING, progress=50, retry_after=4.0),
        TransientError("502", retry_after=9.0),
    ]
    assert services.generation_poll(generation.pk) == 4.0
    generation.refresh_from_db()
    assert 40 <= generation.progress <= 50
    assert services.generation_poll(generation.pk) == 9.0
    assert _state(generation) == State.RUNNING


def test_a_job_past_its_deadline_fails_and_is_canceled_at_the_provider(
    user, provider, django_capture_on_commit_callbacks
):
    generation = _queued(user)
    services.generation_submit(generation.pk)
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.generation_reap()
    generation.refresh_from_db()
    assert counts["timed_out"] == 1
    assert generation.state == State.FAILED
    assert generation.error_code == "timeout"
    assert provider.canceled == ["job-1"]


def test_the_reaper_hands_a_stalled_job_to_a_worker_once(
    user, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_JOB_STALL_SECONDS = 60
    generation = make_generation(
        user,
        state=State.RUNNING,
        provider_job_id="offline-x",
        deadline_at=timezone.now() + timedelta(hours=1),
    )
    Generation.objects.filter(pk=generation.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.generation_reap()
        second = services.generation_reap()
    assert first["resumed"] == 1 and second["resumed"] == 0
    assert len(callbacks) == 1
    assert generation.events.filter(message__startswith="resumed").count() == 1


def test_a_late_duplicate_download_cannot_fail_a_job_that_moved_on(user, provider):
    generation = _queued(user)
    services.generation_submit(generation.pk)
    Generation.objects.filter(pk=generation.pk).update(state=State.DOWNLOADING)
    # Another worker finishes the download while this one is still asking the provider.
    original = provider.download

    def download_after_the_race(job_id, dest):
        Generation.objects.filter(pk=generation.pk).update(state=State.FINISHING)
        return original(job_id, dest)  # raises: the files were already taken

    provider.download = download_after_the_race
    services.generation_download(generation.pk)

    assert _state(generation) == State.FINISHING
