"""Outgoing webhooks: endpoints registered on Settings (private addresses refused unless
the operator allows them), one delivery per wanted event written with the final
transition, signed for the standardwebhooks package, retried on the schedule, given up
after it, replayable; another user's endpoint or delivery is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery_attempt, delivery_sweep, endpoint_create
from generations.services import generation_transition
from generations.states import State
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
    ],
)
def test_private_and_odd_urls_are_refused(user, url):
    with pytest.raises(ValidationError) as caught:
        endpoint_create(owner=user, url=url, event_types=["video.completed"])
    assert "url" in caught.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_the_settings_page_refuses_a_private_url_with_a_message(owner_client):
    response = owner_client.post(
        reverse("api_webhook_create"),
        {"url": "http://127.0.0.1:9/hook", "event_types": ["video.completed"]},
    )
    assert response.status_code == 200
    assert "public addresses only" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_operator_may_allow_private_urls(owner_client, settings, user):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    response = owner_client.post(
        reverse("api_webhook_create"),
        {"url": "http://127.0.0.1:9/hook", "event_types": ["video.completed", "video.failed"]},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(owner=user)
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["video.completed", "video.failed"]


def _end(generation, to_state: str, capture) -> list:
    with capture(execute=False) as sent:
        assert generation_transition(generation.pk, from_state=generation.state, to_state=to_state)
    return sent


def test_an_ending_writes_one_delivery_per_endpoint_that_wants_it(
    user, other_user, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    done = endpoint_create(owner=user, url="http://127.0.0.1:9/a", event_types=["video.completed"])
    failed = endpoint_create(owner=user, url="http://127.0.0.1:9/b", event_types=["video.failed"])
    endpoint_create(owner=other_user, url="http://127.0.0.1:9/c", event_types=["video.completed"])
    generation = make_generation(user, state=State.FINISHING)

    _end(generation, State.SUCCEEDED, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == done and delivery.event_type == "video.completed"
    assert delivery.payload["data"] == {"id": "video_" + generation.pk.hex}
    assert delivery.payload["object"] == "event" and delivery.payload["id"] == delivery.event_id

    rejected = make_generation(user, state=State.RUNNING)
    _end(rejected, State.REJECTED, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.get(endpoint=failed).event_type == "video.failed"


def test_a_failing_receiver_is_retried_on_the_schedule_then_given_up(
    user, receiver, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    settings.STUDIO_WEBHOOK_RETRY_SECONDS = "30,60"
    endpoint = endpoint_create(owner=user, url=receiver.url, event_types=["video.completed"])
    _end(
        make_generation(user, state=State.FINISHING),
        State.SUCCEEDED,
        django_capture_on_commit_callbacks,
    )
    delivery = WebhookDelivery.objects.get()
    receiver.answers = [500, 503, 502]

    def attempt() -> str:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=False):
            return delivery_attempt(delivery.pk)

    assert attempt() == "pending"
    delivery.refresh_from_db()
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)
    assert delivery_attempt(delivery.pk) == "pending"  # not due yet: nothing sent
    assert len(receiver.received) == 1
    assert attempt() == "pending"
    assert attempt() == "failed"
    delivery.refresh_from_db()
    assert [a["status_code"] for a in delivery.attempts] == [500, 503, 502]
    hook = Webhook(endpoint.secret)
    for headers, body in receiver.received:
        hook.verify(body, headers)

    owner = Client()
    owner.force_login(user)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = owner.post(reverse("api_delivery_replay", args=[delivery.pk]))
    assert response.status_code == 302 and len(sent) == 1
    assert delivery_attempt(delivery.pk) == "succeeded"
    assert receiver.received[-1][0]["webhook-id"] == delivery.event_id
    page = owner.get(reverse("api_settings")).content.decode()
    assert "Delivered" in page and "200 in" in page


def test_a_delivery_to_a_url_that_turned_private_is_not_sent(
    user, receiver, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    endpoint_create(owner=user, url=receiver.url, event_types=["video.completed"])
    _end(
        make_generation(user, state=State.FINISHING),
        State.SUCCEEDED,
        django_capture_on_commit_callbacks,
    )
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = False
    with django_capture_on_commit_callbacks(execute=False):
        assert delivery_attempt(WebhookDelivery.objects.get().pk) == "pending"
    assert receiver.received == []
    assert "public addresses only" in WebhookDelivery.objects.get().attempts[0]["error"]


def test_another_users_endpoint_and_delivery_are_404(
    owner_client, other_user, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    theirs = endpoint_create(
        owner=other_user, url="http://127.0.0.1:9/", event_types=["video.failed"]
    )
    _end(
        make_generation(other_user, state=State.RUNNING),
        State.FAILED,
        django_capture_on_commit_callbacks,
    )
    delivery = WebhookDelivery.objects.get()
    assert owner_client.post(reverse("api_webhook_delete", args=[theirs.pk])).status_code == 404
    assert owner_client.post(reverse("api_delivery_replay", args=[delivery.pk])).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()
    assert theirs.url not in owner_client.get(reverse("api_settings")).content.decode()


def test_the_sweep_resends_a_delivery_whose_try_never_arrived(
    user, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    endpoint_create(owner=user, url="http://127.0.0.1:9/", event_types=["video.completed"])
    _end(
        make_generation(user, state=State.FINISHING),
        State.SUCCEEDED,
        django_capture_on_commit_callbacks,
    )
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert delivery_sweep() == 0  # due now, its message is on its way
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert delivery_sweep() == 1
    assert len(sent) == 1
