"""Login throttling (django-axes) on both login pages: after the failure limit a lockout,
even with the right password, and a clear page saying why; the limit counts per test."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

PAGES = {"login": "/accounts/login/", "admin": "/admin/login/"}


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "operator", password="right-password-123", is_staff=True, is_superuser=True
    )


@override_settings(AXES_FAILURE_LIMIT=3)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_repeated_failed_logins_lock_the_account_out_even_with_the_right_password(
    client, staff, page
):
    url = PAGES[page]
    for _ in range(2):
        response = client.post(url, {"username": "operator", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    locked = client.post(url, {"username": "operator", "password": "wrong"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()

    right = client.post(url, {"username": "operator", "password": "right-password-123"})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_success_before_the_limit_resets_the_count(client, staff):
    url = PAGES["login"]
    for _ in range(2):
        client.post(url, {"username": "operator", "password": "wrong"})
    assert (
        client.post(url, {"username": "operator", "password": "right-password-123"}).status_code
        == 302
    )
    client.logout()
    for _ in range(2):
        assert client.post(url, {"username": "operator", "password": "wrong"}).status_code == 200


def test_signup_still_logs_the_new_creator_in(client):
    response = client.post(
        "/signup/",
        {
            "username": "newbie",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
