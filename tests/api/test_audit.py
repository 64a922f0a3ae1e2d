"""The audit trail of the API: an API key made or revoked (on the Settings page, by an
operator's admin action, by `manage.py apikey`) and a webhook endpoint registered or
removed are each recorded with who, what, when and from where, and never the key's secret."""

from __future__ import annotations

import getpass
import io
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from api.keys import apikey_create
from api.models import ApiKey, WebhookEndpoint
from audit.models import AuditRecord

pytestmark = pytest.mark.django_db

FROM = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "KeyMaker/2"}


def _only(action: str) -> AuditRecord:
    return AuditRecord.objects.get(action=action)


def _recent(record: AuditRecord) -> bool:
    return timezone.now() - timedelta(minutes=1) < record.at <= timezone.now()


def test_keys_made_and_revoked_on_settings_are_recorded_without_their_secret(owner_client, user):
    page = owner_client.post(reverse("api_key_create"), {"name": "render bot"}, **FROM)
    secret = page.content.decode().split('<code class="secret">')[1].split("</code>")[0]
    key = ApiKey.objects.get(owner=user)
    owner_client.post(reverse("api_key_revoke", args=[key.pk]), **FROM)
    owner_client.post(reverse("api_key_revoke", args=[key.pk]), **FROM)  # already revoked

    made, revoked = _only("api_key.created"), _only("api_key.revoked")
    for record in (made, revoked):
        assert (record.actor_id, record.actor_name) == (user.pk, "ada")
        assert (record.target_type, record.target_id) == ("api.apikey", str(key.pk))
        assert key.prefix in record.target_repr and "render bot" in record.target_repr
        assert (record.ip, record.user_agent) == ("203.0.113.9", "KeyMaker/2")
        assert record.detail["prefix"] == key.prefix and record.detail["via"] == "settings"
        assert record.detail["command"] is None
        assert record.detail["owner"] == "ada" and _recent(record)
        text = str(record.detail) + record.target_repr
        assert (
            secret not in text and key.hashed not in text and secret[len(key.prefix) :] not in text
        )
    assert made.at <= revoked.at


def test_an_operators_admin_revoke_is_recorded_as_theirs(client, django_user_model, user):
    key = apikey_create(owner=user, name="leaked").key
    operator = django_user_model.objects.create_superuser("root", password="pw-root-123")
    client.force_login(operator)
    client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
        **FROM,
    )
    record = _only("api_key.revoked")
    assert (record.actor_id, record.actor_name, record.ip) == (operator.pk, "root", "203.0.113.9")
    assert record.detail["via"] == "admin" and record.detail["owner"] == "ada"
    assert record.target_id == str(key.pk) and _recent(record)


def test_the_command_records_who_ran_it_and_where(user):
    out = io.StringIO()
    call_command("apikey", "create", "--user", "ada", "--name", "cron", stdout=out)
    prefix = ApiKey.objects.get(owner=user).prefix
    call_command("apikey", "revoke", prefix, stdout=io.StringIO())

    for action in ("api_key.created", "api_key.revoked"):
        record = _only(action)
        assert (record.actor_id, record.actor_name, record.ip) == (None, "system", None)
        assert record.detail["via"] == "command" and record.detail["prefix"] == prefix
        assert record.detail["command"] == {
            "os_user": getpass.getuser(),
            "host": socket.gethostname(),
        }
        assert record.detail["owner"] == "ada" and _recent(record)
        assert out.getvalue().strip() not in str(record.detail)


def test_webhook_endpoints_added_and_removed_are_recorded(owner_client, user, settings):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    url = "http://127.0.0.1:9/hooks"
    owner_client.post(
        reverse("api_webhook_create"), {"url": url, "event_types": ["video.failed"]}, **FROM
    )
    endpoint = WebhookEndpoint.objects.get(owner=user)
    owner_client.post(reverse("api_webhook_delete", args=[endpoint.pk]), **FROM)
    assert not WebhookEndpoint.objects.exists()

    added, removed = _only("webhook_endpoint.created"), _only("webhook_endpoint.deleted")
    for record in (added, removed):
        assert (record.actor_id, record.actor_name) == (user.pk, "ada")
        assert (record.ip, record.user_agent) == ("203.0.113.9", "KeyMaker/2")
        assert (record.target_type, record.target_id) == ("api.webhookendpoint", str(endpoint.pk))
        assert record.detail["url"] == url and record.detail["event_types"] == ["video.failed"]
        assert endpoint.secret not in str(record.detail) and _recent(record)


def test_a_refused_endpoint_or_another_users_is_not_recorded(owner_client, other_user, settings):
    owner_client.post(
        reverse("api_webhook_create"),
        {"url": "http://127.0.0.1:9/", "event_types": ["video.failed"]},
    )
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    theirs = WebhookEndpoint.objects.create(owner=other_user, url="http://127.0.0.1:9/", secret="s")
    assert owner_client.post(reverse("api_webhook_delete", args=[theirs.pk])).status_code == 404
    assert not AuditRecord.objects.filter(action__startswith="webhook_endpoint").exists()
