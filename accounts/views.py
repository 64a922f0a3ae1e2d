"""Sign-up and what follows it: the sign-up page in each mode (open, invite-only with an
invitation link, waitlist), the waitlist's position page, e-mail verification links, and
creators' own invitations (when the operator allows them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import signup as signups
from accounts.forms import InvitationForm, SignupForm
from accounts.models import Account, Invitation, SignupSettings
from accounts.plans import account_get_for_user
from core.http import AuthedRequest


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """The sign-up page. Invite-only: only with a usable invitation link. In the other
    modes an invitation is optional (and lets its guest skip the waitlist)."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    settings_row = SignupSettings.load()
    token = request.POST.get("invite") or request.GET.get("invite") or ""
    invitation: Invitation | None = None
    if token or settings_row.mode == SignupSettings.Mode.INVITE:
        try:
            invitation = signups.invitation_find(token)
        except signups.InvitationInvalid:
            if settings_row.mode == SignupSettings.Mode.INVITE:
                context: dict[str, object] = {"invite_only": True, "invalid": bool(token)}
                return render(request, "registration/signup.html", context, status=403)
            token = ""
    form = SignupForm(
        request.POST or None,
        initial={"invite": token},
        email_required=settings_row.verify_email,
        invited_email=invitation.email if invitation is not None else "",
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
                account = signups.signup_create(user=user, request=request, invitation=invitation)
        except signups.InvitationInvalid:
            form.add_error(None, signups.InvitationInvalid.message)
        else:
            login(request, user, backend="accounts.backends.CachedModelBackend")
            if account.standing == Account.Standing.WAITING:
                return redirect("waitlist")
            if account.needs_email_verification and account.email_verified_at is None:
                messages.info(request, f"We sent a link to {user.email}: follow it to start.")
            return redirect("dashboard")
    context = {"form": form, "mode": settings_row.mode, "invitation": invitation}
    return render(request, "registration/signup.html", context)


@login_required
@require_GET
def waitlist(request: AuthedRequest) -> HttpResponse:
    account = account_get_for_user(request.user)
    context = {
        "account": account,
        "position": signups.waitlist_position(account),
        "refusal": signups.generate_refusal(account),
    }
    return render(request, "registration/waitlist.html", context)


@require_GET
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    account = signups.email_verify(token)
    if account is None:
        return render(request, "registration/verify_email.html", {"ok": False}, status=400)
    return render(request, "registration/verify_email.html", {"ok": True, "account": account})


@login_required
@require_POST
def verify_email_resend(request: AuthedRequest) -> HttpResponse:
    account = account_get_for_user(request.user)
    if account.needs_email_verification and account.email_verified_at is None:
        try:
            signups.email_verification_send(request.user, request)
        except OSError:
            messages.error(request, "The e-mail could not be sent just now: try again later.")
        else:
            messages.info(request, f"We sent a new link to {request.user.email}.")
    return redirect("waitlist")


@login_required
@require_http_methods(["GET", "POST"])
def invitations(request: AuthedRequest) -> HttpResponse:
    """A creator's invitations: send one, see the ones sent (only when the operator lets
    creators invite, in invite-only mode)."""
    settings_row = SignupSettings.load()
    if settings_row.mode != SignupSettings.Mode.INVITE or not settings_row.creators_may_invite:
        raise Http404
    if signups.generate_refusal(account_get_for_user(request.user)) is not None:
        raise Http404
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            signups.invitation_send(email=email, invited_by=request.user, request=request)
        except OSError:
            form.add_error("email", "The e-mail could not be sent just now: try again later.")
        else:
            messages.success(request, f"Invitation sent to {email}.")
            return redirect("invitations")
    sent = Invitation.objects.filter(invited_by=request.user)[:50]
    return render(request, "registration/invitations.html", {"form": form, "sent": sent})
