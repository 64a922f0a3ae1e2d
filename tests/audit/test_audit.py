"""The audit trail: logins, failed logins and logouts with the client's address; admin
changes (plan edits, policy edits, a creator's plan, suspensions, roles); viewable and
filterable in admin but never added, changed or deleted there; exported as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

import audit
from accounts.models import Invitation, Plan
from accounts.plans import account_get_for_user
from audit.models import AppendOnlyError, AuditRecord
from policy.models import Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("op", "op@example.com", "pw-op-123")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def actions() -> list[str]:
    return list(AuditRecord.objects.order_by("id").values_list("action", flat=True))


def test_logins_failed_logins_and_logouts_are_recorded_with_who_and_from_where(client, user):
    meta = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "TestBrowser/1"}
    client.post(reverse("login"), {"username": "ada", "password": "wrong"}, **meta)
    client.post(reverse("login"), {"username": "ada", "password": "pw-ada-123"}, **meta)
    client.post(reverse("logout"), **meta)

    assert actions() == ["login.failed", "login", "logout"]
    failed, login, logout = AuditRecord.objects.order_by("id")
    assert (failed.actor_id, failed.detail, failed.ip) == (None, {"username": "ada"}, "203.0.113.7")
    assert "wrong" not in str(failed.detail)
    assert (login.actor_id, login.actor_name, login.ip, login.user_agent) == (
        user.pk,
        "ada",
        "203.0.113.7",
        "TestBrowser/1",
    )
    assert logout.actor_name == "ada"


def test_a_failed_admin_login_is_recorded_too(client):
    client.post(reverse("admin:login"), {"username": "mallory", "password": "guess"})
    record = AuditRecord.objects.get()
    assert (record.action, record.detail["username"]) == ("login.failed", "mallory")


def test_the_client_address_comes_from_the_proxy_header_only_when_configured(
    client, user, settings
):
    forwarded = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.4, 10.0.0.1"}
    client.post(reverse("login"), {"username": "ada", "password": "x"}, **forwarded)
    settings.STUDIO_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    client.post(reverse("login"), {"username": "ada", "password": "x"}, **forwarded)
    assert [r.ip for r in AuditRecord.objects.order_by("id")] == ["10.0.0.2", "198.51.100.4"]


def test_plan_and_policy_edits_in_admin_are_recorded(operator_client):
    plan = Plan.objects.get(name="Plus")
    response = operator_client.post(
        reverse("admin:accounts_plan_change", args=[plan.pk]),
        {
            "name": "Plus",
            "sort_order": 1,
            "is_default": "on",
            "max_resolution": "720p",
            "max_seconds": 8,
            "max_variations": 2,
            "priority_per_month": 50,
            "concurrent_jobs": 1,
            "jobs_per_day": "",
            "monthly_spend_cap": "",
            "allowed_models": "",
            "api_requests_per_minute": 600,
            "api_creates_per_minute": 20,
        },
    )
    assert response.status_code == 302
    operator_client.post(
        reverse("admin:policy_rule_add"),
        {
            "name": "weapons",
            "kind": "words",
            "patterns": "bazooka",
            "language": "",
            "public_reason": "No weapons.",
            "enabled": "on",
        },
    )

    plan_edit = AuditRecord.objects.get(action="admin.change")
    assert (plan_edit.actor_name, plan_edit.target_type, plan_edit.target_id) == (
        "op",
        "accounts.plan",
        str(plan.pk),
    )
    assert "Max seconds" in plan_edit.detail["change"]
    assert plan_edit.ip == "127.0.0.1"
    rule = Rule.objects.get()
    rule_add = AuditRecord.objects.get(action="admin.add")
    assert (rule_add.target_type, rule_add.target_id) == ("policy.rule", str(rule.pk))


def test_a_bulk_delete_in_admin_records_every_object(operator_client, operator):
    first, second = (
        Invitation.objects.create(
            email=f"{n}@example.com", token_sha256=n * 64, expires_at=timezone.now()
        )
        for n in "ab"
    )
    response = operator_client.post(
        reverse("admin:accounts_invitation_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Invitation.objects.exists()
    deleted = AuditRecord.objects.filter(action="admin.delete", target_type="accounts.invitation")
    assert sorted(deleted.values_list("target_id", flat=True)) == sorted(
        [str(first.pk), str(second.pk)]
    )
    assert {r.actor_name for r in deleted} == {"op"}


def test_a_creators_plan_change_suspension_and_role_change_are_recorded(operator, user):
    account = account_get_for_user(user)
    pro = Plan.objects.get(name="Pro")
    account.plan = pro
    account.save()
    user.is_active = False
    user.save()
    user.is_active = True
    user.is_staff = True
    user.save()

    assert actions() == ["plan.changed", "user.suspended", "user.reactivated", "user.role_changed"]
    plan_change = AuditRecord.objects.get(action="plan.changed")
    assert (plan_change.detail["new"], plan_change.detail["plan"]) == (pro.pk, "Pro")
    assert AuditRecord.objects.get(action="user.role_changed").detail == {
        "is_staff": True,
        "is_superuser": False,
    }


def test_a_login_is_not_a_role_change(client, user):
    client.force_login(user)  # saves last_login only
    assert "user.role_changed" not in actions()


def test_records_cannot_be_added_changed_or_deleted_in_admin(operator_client, operator):
    record = audit.record("key.created", actor=operator, key="k_1")
    change_url = reverse("admin:audit_auditrecord_change", args=[record.pk])

    listing = operator_client.get(reverse("admin:audit_auditrecord_changelist"))
    assert listing.status_code == 200
    assert "key.created" in listing.content.decode()
    assert 'name="action"' not in listing.content.decode()  # no bulk delete
    assert operator_client.get(reverse("admin:audit_auditrecord_add")).status_code == 403
    view = operator_client.get(change_url)
    assert view.status_code == 200
    assert "k_1" in view.content.decode()
    assert 'type="submit"' not in view.content.decode().split('id="content-main"')[1]
    assert operator_client.post(change_url, {"action": "tampered"}).status_code == 403
    delete_url = reverse("admin:audit_auditrecord_delete", args=[record.pk])
    assert operator_client.post(delete_url, {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert record.action == "key.created"


def test_records_are_append_only_in_code_too(operator):
    record = audit.record("key.revoked", actor=operator)
    record.action = "nothing"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=record.pk).update(action="nothing")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().action == "key.revoked"


def test_deleting_a_user_leaves_their_records(operator, user):
    audit.record("share_link.created", actor=user, link="abc")
    user.delete()
    record = AuditRecord.objects.get(action="share_link.created")
    assert (record.actor_name, record.detail) == ("ada", {"link": "abc"})


def test_the_filtered_list_exports_as_csv(operator_client, operator):
    audit.record("login.failed", username='=HYPERLINK("http://x")')
    audit.record("signup.approved", actor=operator)
    base = reverse("admin:audit_auditrecord_export")

    everything = operator_client.get(base)
    filtered = operator_client.get(base + "?action=login.failed")

    assert everything["Content-Type"].startswith("text/csv")
    assert "attachment" in everything["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(everything.streaming_content).decode())))
    # force_login above logged the operator in: that is a record too.
    assert sorted(r["action"] for r in rows) == ["login", "login.failed", "signup.approved"]
    only = list(csv.DictReader(io.StringIO(b"".join(filtered.streaming_content).decode())))
    assert [r["action"] for r in only] == ["login.failed"]
    assert only[0]["detail"].startswith("{")
    approved = next(r for r in rows if r["action"] == "signup.approved")
    assert approved["actor_name"] == "op"
    page = operator_client.get(reverse("admin:audit_auditrecord_changelist")).content.decode()
    assert base in page


def test_csv_cells_that_look_like_formulas_are_defused(operator_client):
    audit.record("login.failed", target_ref=("auth.user", "1", "=cmd|' /C calc'!A0"))
    body = b"".join(
        operator_client.get(reverse("admin:audit_auditrecord_export")).streaming_content
    )
    row = next(csv.DictReader(io.StringIO(body.decode())))
    assert row["target_repr"] == "'=cmd|' /C calc'!A0"


def test_the_export_needs_an_operator(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:audit_auditrecord_export"))
    assert response.status_code == 302
    assert "login" in response["Location"]
