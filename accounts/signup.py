"""Joining the studio: the operator's sign-up mode (open, invite-only, waitlist), e-mailed
invitations, the waitlist and its approvals, probation plans, e-mail verification, and
whether an account may generate yet.

Every decision that must happen once (an invitation used, a sign-up approved) is a
conditional UPDATE that must touch one row, so two requests cannot both win it."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

import audit
from accounts.models import Account, Invitation, SignupSettings
from accounts.plans import plan_default

logger = logging.getLogger(__name__)
VERIFY_SALT = "accounts.verify-email"
VERIFY_MAX_AGE = 3 * 24 * 3600


class InvitationInvalid(Exception):
    """The invitation link is unknown, expired, revoked or already used."""

    message = "This invitation link has expired or has already been used."


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_send(*, email: str, invited_by: User | None, request: HttpRequest) -> Invitation:
    """Make an invitation for ``email`` and e-mail its link (valid for the operator's number
    of days). Only the token's hash is kept; the link exists only in the e-mail. Raises
    OSError (smtplib's errors among them) when the mail cannot be sent: nothing is kept."""
    token = secrets.token_urlsafe(32)
    days = SignupSettings.load().invitation_days
    link = request.build_absolute_uri(reverse("signup") + f"?invite={token}")
    inviter = invited_by.get_username() if invited_by is not None else "The studio's operator"
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email,
            token_sha256=_token_hash(token),
            invited_by=invited_by,
            expires_at=timezone.now() + timedelta(days=days),
        )
        send_mail(
            "You are invited to Studio",
            f"{inviter} invited you to make videos on Studio.\n\n"
            f"Create your account here (the link works once, for {days} days):\n{link}\n",
            None,
            [email],
        )
        audit.record("invitation.created", actor=invited_by, target=invitation, email=email)
    return invitation


def invitation_find(token: str) -> Invitation:
    """The usable invitation for a link's token. Raises InvitationInvalid."""
    invitation = Invitation.objects.filter(token_sha256=_token_hash(token)).first()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= timezone.now()
    ):
        raise InvitationInvalid
    return invitation


def invitation_revoke(*, invitation: Invitation, by: User | None) -> bool:
    """Make an unused invitation unusable. Returns False if it was used or revoked already."""
    now = timezone.now()
    done = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    if done:
        audit.record("invitation.revoked", actor=by, target=invitation, email=invitation.email)
    return bool(done)


def _account_fields(settings_row: SignupSettings, now: datetime) -> dict[str, object]:
    default = plan_default()
    fields: dict[str, object] = {"plan": default}
    probation = settings_row.probation_plan
    if probation is not None and settings_row.probation_days and probation != default:
        fields.update(
            plan=probation,
            plan_after_probation=default,
            probation_until=now + timedelta(days=settings_row.probation_days),
        )
    return fields


def signup_create(
    *, user: User, request: HttpRequest, invitation: Invitation | None = None
) -> Account:
    """Give a just-saved user their account as the sign-up mode says: on the waitlist (mode
    waitlist, unless invited), through ``invitation`` (needed in mode invite, optional in
    the others; used up here, at most once), or open; on the probation plan when the
    operator set one; asked to confirm their e-mail when the operator wants that. Call
    inside the transaction that saved the user: raises InvitationInvalid (the caller's
    transaction then rolls the user back)."""
    settings_row = SignupSettings.load()
    now = timezone.now()
    fields = _account_fields(settings_row, now)
    mode = settings_row.mode
    if mode == SignupSettings.Mode.INVITE and invitation is None:
        raise InvitationInvalid
    if invitation is not None:
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now, accepted_by=user)
        if claimed != 1:
            raise InvitationInvalid
    if mode == SignupSettings.Mode.WAITLIST and invitation is None:
        fields["standing"] = Account.Standing.WAITING
    if settings_row.verify_email:
        fields["needs_email_verification"] = True
        # The invitation link arrived by e-mail: following it proved the address.
        if invitation is not None and invitation.email.lower() == user.email.lower():
            fields["email_verified_at"] = now
    account, _ = Account.objects.update_or_create(user=user, defaults=fields)
    audit.record(
        "signup",
        actor=user,
        target=account,
        request=request,
        mode=mode,
        invitation=invitation.pk if invitation is not None else None,
        plan=account.plan.name,
    )
    if account.needs_email_verification and account.email_verified_at is None:
        user_pk = user.pk
        transaction.on_commit(
            lambda: email_verification_send(User.objects.get(pk=user_pk), request)
        )
    return account


def waitlist_position(account: Account) -> int:
    """1 for the first person waiting, 2 for the next, ...; 0 when not waiting."""
    if account.standing != Account.Standing.WAITING:
        return 0
    ahead = Account.objects.filter(
        standing=Account.Standing.WAITING, created_at__lt=account.created_at
    ).count()
    return ahead + 1


def _decide(account: Account, *, to: str, by: User | None, action: str) -> bool:
    done = Account.objects.filter(pk=account.pk, standing=Account.Standing.WAITING).update(
        standing=to, decided_at=timezone.now()
    )
    if done:
        account.refresh_from_db()
        audit.record(action, actor=by, target=account, user=account.user.get_username())
    return bool(done)


def account_approve(*, account: Account, by: User | None) -> bool:
    """Let a waiting sign-up in (and tell them by e-mail). False if it was not waiting."""
    if not _decide(account, to=Account.Standing.ACTIVE, by=by, action="signup.approved"):
        return False
    if account.user.email:
        try:
            send_mail(
                "Your Studio account is ready",
                "An operator approved your sign-up: you can make videos now.",
                None,
                [account.user.email],
            )
        except OSError:
            logger.warning("approval e-mail to %s could not be sent", account.user.email)
    return True


def account_refuse(*, account: Account, by: User | None) -> bool:
    """Turn a waiting sign-up down. False if it was not waiting."""
    return _decide(account, to=Account.Standing.REFUSED, by=by, action="signup.refused")


def email_verification_send(user: User, request: HttpRequest) -> None:
    """E-mail ``user`` a link that confirms their address (valid three days)."""
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)
    link = request.build_absolute_uri(reverse("verify_email", args=[token]))
    send_mail(
        "Confirm your e-mail address for Studio",
        f"Follow this link to confirm your address and start making videos:\n{link}\n",
        None,
        [user.email],
    )


def email_verify(token: str) -> Account | None:
    """Confirm the address a verification link was sent to; None for a bad, expired or
    stale link (the address changed since)."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
        user = User.objects.get(pk=data["u"])
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError):
        return None
    if not user.email or user.email != data["e"]:
        return None
    account = Account.objects.get(user=user)
    if account.email_verified_at is None:
        Account.objects.filter(pk=account.pk).update(email_verified_at=timezone.now())
        account.refresh_from_db()
        audit.record("email.verified", actor=user, target=account, email=user.email)
    return account


def generate_refusal(account: Account) -> str | None:
    """Why this account may not generate (waitlist, refused, suspended, e-mail unconfirmed), in
    plain words; None when it may."""
    if account.standing == Account.Standing.WAITING:
        return (
            f"You are number {waitlist_position(account)} on the waitlist: you can generate "
            "once an operator approves your account."
        )
    if account.standing == Account.Standing.REFUSED:
        return "Your sign-up was not approved, so this account cannot generate."
    if account.suspended_at is not None:
        return "Generation is suspended for this account until an operator reviews it" + (
            f" ({account.suspended_reason})." if account.suspended_reason else "."
        )
    if account.needs_email_verification and account.email_verified_at is None:
        return "Confirm your e-mail address first: follow the link we sent you."
    return None
