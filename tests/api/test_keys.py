"""API keys: made on the Settings page (the secret shown once, then only its prefix),
stored hashed, revoked at once, seen and revoked in admin and by `manage.py apikey`."""

from __future__ import annotations

import io

import openai
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from api.keys import apikey_create, key_hash
from api.models import ApiKey
from tests.api.conftest import sdk

pytestmark = pytest.mark.django_db


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_the_settings_page_shows_a_new_key_once_and_then_only_its_prefix(owner_client, user):
    response = owner_client.post(reverse("api_key_create"), {"name": "render bot"})
    html = response.content.decode()
    key = ApiKey.objects.get(owner=user)
    secret = html.split('<code class="secret">')[1].split("</code>")[0]
    assert secret.startswith("sk-studio-") and secret.startswith(key.prefix)
    assert key.hashed == key_hash(secret) and secret not in key.hashed
    assert key.name == "render bot"

    again = owner_client.get(reverse("api_settings")).content.decode()
    assert secret not in again
    assert f"{key.prefix}…" in again and "render bot" in again


def test_a_key_authenticates_and_records_its_last_use(client, user):
    made = apikey_create(owner=user)
    assert made.key.last_used_at is None
    response = client.get("/v1/videos", headers=_auth(made.secret))
    assert response.status_code == 200, response.content
    assert response.json()["object"] == "list"
    made.key.refresh_from_db()
    assert made.key.last_used_at is not None


def test_a_revoked_key_is_refused_at_once(owner_client, client, user):
    made = apikey_create(owner=user)
    assert client.get("/v1/videos", headers=_auth(made.secret)).status_code == 200
    owner_client.post(reverse("api_key_revoke", args=[made.key.pk]))
    response = client.get("/v1/videos", headers=_auth(made.secret))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert "revoked" in owner_client.get(reverse("api_settings")).content.decode()


def test_another_users_key_cannot_be_revoked(owner_client, other_user):
    theirs = apikey_create(owner=other_user)
    response = owner_client.post(reverse("api_key_revoke", args=[theirs.key.pk]))
    assert response.status_code == 404
    theirs.key.refresh_from_db()
    assert theirs.key.revoked_at is None


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer sk-studio-not-a-key", "Bearer " + "x" * 500],
)
def test_requests_without_a_valid_bearer_key_are_401_in_openais_shape(client, header):
    response = client.get("/v1/videos", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] in {"missing_api_key", "invalid_api_key"}


def test_the_command_makes_a_user_and_a_key_and_revokes_it(client, django_user_model):
    out = io.StringIO()
    call_command("apikey", "create", "--user", "scripts", "--name", "cron", stdout=out)
    secret = out.getvalue().strip()
    key = ApiKey.objects.get(owner__username="scripts")
    assert key.name == "cron" and key.hashed == key_hash(secret)
    assert django_user_model.objects.get(username="scripts").account.plan.is_default
    assert client.get("/v1/videos", headers=_auth(secret)).status_code == 200

    out = io.StringIO()
    call_command("apikey", "revoke", key.prefix, stdout=out)
    assert f"Revoked {key.prefix}" in out.getvalue()
    assert client.get("/v1/videos", headers=_auth(secret)).status_code == 401
    with pytest.raises(CommandError, match="already revoked"):
        call_command("apikey", "revoke", key.prefix)
    with pytest.raises(CommandError, match="No single key"):
        call_command("apikey", "revoke", "sk-studio-nothing")


def test_operators_see_keys_in_admin_without_their_secret_and_revoke_them(
    client, django_user_model, user
):
    made = apikey_create(owner=user, name="ops view")
    admin_user = django_user_model.objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin_user)
    listing = client.get(reverse("admin:api_apikey_changelist")).content.decode()
    assert made.key.prefix in listing and made.key.hashed not in listing
    response = client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke", "_selected_action": [made.key.pk]},
    )
    assert response.status_code == 302
    made.key.refresh_from_db()
    assert made.key.revoked_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_sdk_raises_authentication_error_for_a_revoked_key(studio, user):
    made = apikey_create(owner=user)
    client = sdk(studio, made.secret)
    assert client.videos.list().data == []
    ApiKey.objects.filter(pk=made.key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    with pytest.raises(openai.AuthenticationError) as caught:
        client.videos.list()
    assert caught.value.code == "invalid_api_key"


def test_the_docs_page_is_linked_from_settings_with_examples_for_this_studio(owner_client):
    settings_html = owner_client.get(reverse("api_settings")).content.decode()
    assert reverse("api_docs") in settings_html
    docs = owner_client.get(reverse("api_docs")).content.decode()
    assert 'base_url="http://testserver/v1"' in docs
    assert "curl http://testserver/v1/videos" in docs and "/v1/openapi.json" in docs
