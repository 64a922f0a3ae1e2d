"""Each sign-up mode end to end through the real pages: open, invite-only (the invitation
e-mail caught by Django's locmem backend; an expired or reused link refused), waitlist (a
position shown, no generating until approved in admin), probation plans and e-mail
verification."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Invitation, Plan, SignupSettings
from accounts.plans import account_get_for_user, plan_default
from audit.models import AuditRecord
from generations.models import Generation

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-pass-phrase-9"
GENERATE = {
    "prompt": "a comet over mountains",
    "resolution": "720p",
    "aspect_ratio": "16:9",
    "seconds": 4,
    "variations": 1,
    "provider": "offline",
}


def set_mode(**fields):
    plan_default()
    SignupSettings.objects.update_or_create(pk=1, defaults=fields)


def sign_up(client, username, email="", invite=None):
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    url = reverse("signup")
    if invite is not None:
        data["invite"] = invite
        url += f"?invite={invite}"
    return client.post(url, data)


def generate(client):
    return client.post(reverse("generate"), GENERATE, headers={"HX-Request": "true"})


def link_in(message):
    return re.search(r"https?://\S+", message.body).group(0)


def test_open_mode_lets_anyone_sign_up_and_generate(client):
    set_mode(mode=SignupSettings.Mode.OPEN)

    response = sign_up(client, "cleo")

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    generate(client)
    assert Generation.objects.filter(owner__username="cleo").count() == 1
    record = AuditRecord.objects.get(action="signup")
    assert (record.actor_name, record.detail["mode"], record.ip) == ("cleo", "open", "127.0.0.1")


@pytest.fixture
def client_factory():
    return Client


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser("op", "op@example.com", "pw-op-123")
    client.force_login(operator)
    return client


def invite_by_admin(operator_client, email):
    response = operator_client.post(reverse("admin:accounts_invitation_add"), {"email": email})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_invite_only_signup_needs_the_emailed_link_which_works_once(
    operator_client, client_factory, mailoutbox
):
    set_mode(mode=SignupSettings.Mode.INVITE, invitation_days=3)
    invite_by_admin(operator_client, "dana@example.com")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dana@example.com"]
    link = link_in(mailoutbox[0])
    token = link.split("invite=")[1]
    invitation = Invitation.objects.get()
    assert invitation.token_sha256 != token  # only its hash is kept
    assert timedelta(days=3) - (invitation.expires_at - invitation.created_at) < timedelta(
        seconds=5
    )
    stranger = client_factory()
    page = stranger.get(reverse("signup"))
    assert page.status_code == 403
    assert "invite-only" in page.content.decode()
    assert sign_up(stranger, "eve").status_code == 403
    assert not User.objects.filter(username="eve").exists()

    guest = client_factory()
    assert guest.get(link).status_code == 200
    response = sign_up(guest, "dana", invite=token)

    assert response.status_code == 302
    user = User.objects.get(username="dana")
    assert user.email == "dana@example.com"
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    generate(guest)
    assert Generation.objects.filter(owner=user).count() == 1

    again = sign_up(client_factory(), "dana2", invite=token)
    assert again.status_code == 403
    assert "expired or has already been used" in again.content.decode()
    assert not User.objects.filter(username="dana2").exists()
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"invitation.created", "signup", "admin.add"} <= actions


def test_an_expired_invitation_is_refused(operator_client, client_factory, mailoutbox):
    set_mode(mode=SignupSettings.Mode.INVITE)
    invite_by_admin(operator_client, "fay@example.com")
    token = link_in(mailoutbox[0]).split("invite=")[1]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = sign_up(client_factory(), "fay", invite=token)

    assert response.status_code == 403
    assert "expired or has already been used" in response.content.decode()
    assert not User.objects.filter(username="fay").exists()


def test_a_revoked_invitation_is_refused_and_the_revocation_audited(
    operator_client, client_factory, mailoutbox
):
    set_mode(mode=SignupSettings.Mode.INVITE)
    invite_by_admin(operator_client, "gil@example.com")
    token = link_in(mailoutbox[0]).split("invite=")[1]
    invitation = Invitation.objects.get()
    operator_client.post(
        reverse("admin:accounts_invitation_changelist"),
        {"action": "revoke", "_selected_action": [invitation.pk]},
    )

    assert sign_up(client_factory(), "gil", invite=token).status_code == 403
    record = AuditRecord.objects.get(action="invitation.revoked")
    assert (record.actor_name, record.target_id) == ("op", str(invitation.pk))


def test_creators_may_invite_only_when_the_operator_allows_it(owner_client, mailoutbox):
    set_mode(mode=SignupSettings.Mode.INVITE, creators_may_invite=False)
    assert owner_client.get(reverse("invitations")).status_code == 404

    set_mode(mode=SignupSettings.Mode.INVITE, creators_may_invite=True)
    response = owner_client.post(reverse("invitations"), {"email": "hal@example.com"})

    assert response.status_code == 302
    assert mailoutbox[0].to == ["hal@example.com"]
    assert "ada invited you" in mailoutbox[0].body
    assert Invitation.objects.get().invited_by.username == "ada"


def test_an_invitation_whose_mail_cannot_be_sent_is_an_error_and_not_kept(owner_client, settings):
    set_mode(mode=SignupSettings.Mode.INVITE, creators_may_invite=True)
    # A real SMTP backend pointed at a port where nothing listens.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 5},
        }
    }

    response = owner_client.post(reverse("invitations"), {"email": "hal@example.com"})

    assert response.status_code == 200
    assert "could not be sent just now" in response.content.decode()
    assert not Invitation.objects.exists()
    assert not AuditRecord.objects.filter(action="invitation.created").exists()


def test_a_waitlisted_person_sees_their_position_and_cannot_generate_until_approved(
    operator_client, client_factory, mailoutbox
):
    set_mode(mode=SignupSettings.Mode.WAITLIST)
    first, second = client_factory(), client_factory()
    sign_up(first, "ivy", email="ivy@example.com")
    response = sign_up(second, "jon", email="jon@example.com")

    assert response["Location"] == reverse("waitlist")
    page = second.get(reverse("waitlist")).content.decode()
    assert "You are number 2 on the waitlist" in page
    refused = generate(second)
    assert "You are number 2 on the waitlist" in refused.content.decode()
    assert not Generation.objects.exists()

    jon = Account.objects.get(user__username="jon")
    response = operator_client.post(
        reverse("admin:accounts_account_changelist"),
        {"action": "approve", "_selected_action": [jon.pk]},
    )
    assert response.status_code == 302
    assert mailoutbox[-1].to == ["jon@example.com"]

    generate(second)
    assert Generation.objects.filter(owner__username="jon").count() == 1
    assert "You are number 1 on the waitlist" in first.get(reverse("waitlist")).content.decode()
    record = AuditRecord.objects.get(action="signup.approved")
    assert (record.actor_name, record.target_id, record.detail["user"]) == (
        "op",
        str(jon.pk),
        "jon",
    )

    ivy = Account.objects.get(user__username="ivy")
    operator_client.post(
        reverse("admin:accounts_account_changelist"),
        {"action": "refuse", "_selected_action": [ivy.pk]},
    )
    assert "was not approved" in generate(first).content.decode()
    assert not Generation.objects.filter(owner__username="ivy").exists()
    assert AuditRecord.objects.filter(action="signup.refused", target_id=str(ivy.pk)).exists()


def test_new_accounts_start_on_probation_then_get_the_default_plan(client):
    default = plan_default()
    probation = Plan.objects.create(name="Probation", max_seconds=4, jobs_per_day=1)
    set_mode(mode=SignupSettings.Mode.OPEN, probation_plan=probation, probation_days=7)
    sign_up(client, "kai")

    account = Account.objects.get(user__username="kai")
    assert account.plan == probation
    assert account.plan_after_probation == default
    assert timedelta(days=7) - (account.probation_until - timezone.now()) < timedelta(minutes=1)
    generate(client)
    assert "up to 1 generations a day" in generate(client).content.decode()
    assert Generation.objects.filter(owner__username="kai").count() == 1

    Account.objects.filter(pk=account.pk).update(probation_until=timezone.now())
    assert account_get_for_user(account.user).plan == default
    generate(client)
    assert Generation.objects.filter(owner__username="kai").count() == 2
    record = AuditRecord.objects.get(action="plan.changed")
    assert (record.detail["reason"], record.actor_name) == ("probation ended", "system")


def test_email_verification_holds_generating_until_the_link_is_followed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    set_mode(mode=SignupSettings.Mode.OPEN, verify_email=True)
    assert sign_up(client, "lea").status_code == 200  # the address is required now
    assert not User.objects.filter(username="lea").exists()

    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "lea", email="lea@example.com")

    assert mailoutbox[0].to == ["lea@example.com"]
    assert "Confirm your e-mail address first" in generate(client).content.decode()
    assert not Generation.objects.exists()
    link = link_in(mailoutbox[0])
    tampered = link.replace("/verify/", "/verify/x")
    assert client.get(tampered).status_code == 400
    assert client.get(link).status_code == 200
    generate(client)
    assert Generation.objects.filter(owner__username="lea").count() == 1
    assert AuditRecord.objects.filter(action="email.verified", actor_name="lea").exists()


def test_a_lost_verification_link_can_be_sent_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    set_mode(mode=SignupSettings.Mode.OPEN, verify_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "max", email="max@example.com")
    page = client.get(reverse("waitlist")).content.decode()
    assert "Confirm your e-mail address first" in page

    client.post(reverse("verify_email_resend"))

    assert [m.to for m in mailoutbox] == [["max@example.com"]] * 2
    assert client.get(link_in(mailoutbox[1])).status_code == 200
    generate(client)
    assert Generation.objects.filter(owner__username="max").count() == 1


def test_an_invited_person_skips_the_waitlist(operator_client, client_factory, mailoutbox):
    set_mode(mode=SignupSettings.Mode.WAITLIST)
    invite_by_admin(operator_client, "ned@example.com")
    token = link_in(mailoutbox[0]).split("invite=")[1]
    guest = client_factory()

    assert sign_up(guest, "ned", invite=token)["Location"] == reverse("dashboard")
    generate(guest)
    assert Generation.objects.filter(owner__username="ned").count() == 1
    other = client_factory()
    assert sign_up(other, "ola")["Location"] == reverse("waitlist")
    assert Account.objects.get(user__username="ola").standing == Account.Standing.WAITING
