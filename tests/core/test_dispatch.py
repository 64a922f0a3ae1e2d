"""The one seam to Celery: tasks are sent by name, after commit, to real task names."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import dispatch
from delivery.finishing import MAKE_DELIVERY_TASK
from generations.services.steps import STEP_TASKS
from providers.offline.tasks import RENDER_TASK
from studio.celery import app as celery_app


@pytest.mark.django_db  # Celery's Django fixup closes stale connections as it imports
def test_every_task_the_services_send_by_name_is_a_registered_task():
    celery_app.loader.import_default_modules()
    sent = sorted({*STEP_TASKS.values(), MAKE_DELIVERY_TASK, RENDER_TASK})
    assert len(sent) == 6
    missing = [name for name in sent if name not in celery_app.tasks]
    assert missing == []


@pytest.mark.django_db
def test_beat_and_routes_name_registered_tasks():
    from django.conf import settings

    celery_app.loader.import_default_modules()
    named = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    named += list(settings.CELERY_TASK_ROUTES)
    assert [name for name in sorted(named) if name not in celery_app.tasks] == []


@pytest.mark.django_db(transaction=True)
def test_a_task_is_sent_only_when_the_transaction_commits(monkeypatch):
    sent: list[tuple[str, tuple[str, ...], str | None, float]] = []

    def send_task(name, *, args, queue, countdown):
        sent.append((name, args, queue, countdown))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    with transaction.atomic():
        dispatch.enqueue("generations.tasks.poll_generation", "g-1", queue="priority", countdown=2)
        assert sent == []
    assert sent == [("generations.tasks.poll_generation", ("g-1",), "priority", 2)]

    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch.enqueue("generations.tasks.poll_generation", "g-2")
        raise RuntimeError("rolled back")
    assert [args for _, args, _, _ in sent] == [("g-1",)]


@pytest.mark.django_db
def test_a_countdown_in_the_past_is_sent_as_now(monkeypatch, django_capture_on_commit_callbacks):
    sent: list[float] = []
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, *, args, queue, countdown: sent.append(countdown)
    )
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.enqueue("generations.tasks.poll_generation", "g-3", countdown=-5)
    assert sent == [0.0]


def test_a_task_for_a_deleted_row_is_dropped_not_raised():
    from generations.models import Generation

    calls: list[str] = []

    @dispatch.tolerate_deleted
    def step(object_id: str) -> None:
        calls.append(object_id)
        raise Generation.DoesNotExist

    step("gone")
    assert calls == ["gone"]
