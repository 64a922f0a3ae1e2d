"""Django admin: operators see every model, and the actions call the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Generation, GenerationEvent
from generations.states import State
from tests.factories import make_generation
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "", "pw-root-123")
    client.force_login(admin)
    return client


def test_every_admin_page_opens(staff_client, user):
    generation = make_finished(user)
    video = generation.videos.get()
    event = generation.events.first()
    urls = [
        reverse("admin:generations_generation_changelist"),
        reverse("admin:generations_generation_changelist") + "?q=paper+boat",
        reverse("admin:generations_generation_change", args=[generation.pk]),
        reverse("admin:generations_video_changelist"),
        reverse("admin:generations_video_change", args=[video.pk]),
        reverse("admin:generations_asset_changelist"),
        reverse("admin:generations_generationevent_changelist"),
        reverse("admin:generations_generationevent_change", args=[event.pk]),
        reverse("admin_video_poster", args=[video.pk]),
        reverse("admin:generations_video_changelist") + "?watermark__exact=visible",
        reverse("admin:accounts_plan_changelist"),
        reverse("admin:accounts_plan_change", args=[user.account.plan.pk]),
        reverse("admin:accounts_account_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[user.pk]),
    ]
    for url in urls:
        assert staff_client.get(url).status_code == 200, url
    changelist = staff_client.get(urls[0]).content.decode()
    assert "paper boat" in changelist


def test_an_operator_moves_a_creator_to_another_plan_on_the_user_page(staff_client, user):
    from accounts import plans
    from accounts.models import Plan

    account = plans.account_get_for_user(user)
    pro = Plan.objects.get(name="Pro")
    page = staff_client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert "Plus" in page
    form = {
        "username": user.username,
        "date_joined_0": "2026-11-01",
        "date_joined_1": "10:00:00",
        "account-TOTAL_FORMS": "1",
        "account-INITIAL_FORMS": "1",
        "account-MIN_NUM_FORMS": "0",
        "account-MAX_NUM_FORMS": "1",
        "account-0-id": str(account.pk),
        "account-0-user": str(user.pk),
        "account-0-plan": str(pro.pk),
    }
    response = staff_client.post(reverse("admin:auth_user_change", args=[user.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.plan == pro


def test_creators_cannot_open_the_admin_poster_view(owner_client, user):
    video = make_finished(user).videos.get()
    response = owner_client.get(reverse("admin_video_poster", args=[video.pk]))
    assert response.status_code == 302


def test_the_cancel_action_cancels_active_jobs(staff_client, user):
    running = make_generation(user, state=State.RUNNING)
    done = make_generation(user, state=State.SUCCEEDED)

    staff_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "cancel", "_selected_action": [running.pk, done.pk]},
    )

    running.refresh_from_db()
    done.refresh_from_db()
    assert running.state == State.CANCELED
    assert done.state == State.SUCCEEDED
    assert GenerationEvent.objects.filter(generation=running, to_state="canceled").exists()


def test_the_retry_action_queues_a_new_generation_for_ended_jobs(staff_client, user):
    failed = make_generation(user, state=State.FAILED, error_message="boom")

    staff_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "retry", "_selected_action": [failed.pk]},
    )

    retry = Generation.objects.get(parent=failed)
    assert retry.state == State.QUEUED
    assert retry.prompt == failed.prompt
    failed.refresh_from_db()
    assert failed.state == State.FAILED


def test_the_event_log_is_read_only(staff_client, user):
    generation = make_generation(user)
    event = GenerationEvent.objects.create(generation=generation, message="x")
    url = reverse("admin:generations_generationevent_change", args=[event.pk])
    staff_client.post(url, {"message": "changed"})
    event.refresh_from_db()
    assert event.message == "x"
    assert staff_client.get(reverse("admin:generations_generationevent_add")).status_code == 403


def test_retry_of_a_job_the_plan_no_longer_allows_says_why_and_makes_nothing(staff_client, user):
    too_big = make_generation(user, state=State.FAILED, resolution="1080p")  # Plus: up to 720p

    response = staff_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "retry", "_selected_action": [too_big.pk]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("Not retried" in m and "up to 720p" in m for m in shown), shown
    assert Generation.objects.filter(owner=user).count() == 1
