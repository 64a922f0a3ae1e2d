"""Admin addresses of the models that left the generations app still lead to them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Plan

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/generations/account/", "admin:accounts_account_changelist"),
        ("/admin/generations/plan/", "admin:accounts_plan_changelist"),
        ("/admin/generations/videoendpoint/", "admin:openai_compat_videoendpoint_changelist"),
    ],
)
def test_an_old_admin_address_redirects_to_the_models_new_app(admin_client, old, new):
    response = admin_client.get(old)
    assert (response.status_code, response["Location"]) == (302, reverse(new))
    assert admin_client.get(response["Location"]).status_code == 200


def test_an_old_change_page_keeps_its_object_and_query(admin_client, user):
    plan = Plan.objects.get(name="Plus")
    response = admin_client.get(f"/admin/generations/plan/{plan.pk}/change/?_changelist_filters=x")
    assert response["Location"] == (
        reverse("admin:accounts_plan_change", args=[plan.pk]) + "?_changelist_filters=x"
    )


def test_other_generations_admin_pages_are_not_redirected(admin_client):
    response = admin_client.get(reverse("admin:generations_generation_changelist"))
    assert response.status_code == 200
