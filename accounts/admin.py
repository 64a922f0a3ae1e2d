"""Django admin for plans and accounts: operators edit plans, change a creator's plan on
Django's own user page, set the sign-up mode, send and revoke invitations, and approve or
refuse the waitlist."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from accounts import signup as signups
from accounts.models import Account, Invitation, Plan, SignupSettings


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
    list_display = (
        "name",
        "max_resolution",
        "max_seconds",
        "max_variations",
        "priority_per_month",
        "concurrent_jobs",
        "watermark_free",
        "is_default",
        "accounts_count",
    )
    list_editable = ("is_default",)
    fields = (
        ("name", "sort_order", "is_default"),
        ("max_resolution", "max_seconds", "max_variations"),
        ("priority_per_month", "concurrent_jobs", "jobs_per_day"),
        "monthly_spend_cap",
        "watermark_free",
        "allowed_models",
        ("api_requests_per_minute", "api_creates_per_minute"),
    )

    @admin.display(description="Accounts")
    def accounts_count(self, obj: Plan) -> int:
        return obj.accounts.count()


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    list_display = (
        "user",
        "plan",
        "standing",
        "email_confirmed",
        "probation_until",
        "suspended_at",
        "created_at",
    )
    list_filter = ("standing", "plan", ("suspended_at", admin.EmptyFieldListFilter))
    list_select_related = ("user", "plan")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)
    ordering = ("created_at",)
    actions = ("approve", "refuse")
    fields = (
        "user",
        "plan",
        ("standing", "decided_at"),
        ("needs_email_verification", "email_verified_at"),
        ("plan_after_probation", "probation_until"),
        ("suspended_at", "suspended_reason"),
    )
    # Suspensions are decided in the review queue (policy), which tells the creator.
    readonly_fields = (
        "standing",
        "decided_at",
        "email_verified_at",
        "suspended_at",
        "suspended_reason",
    )

    @admin.display(description="E-mail confirmed", boolean=True)
    def email_confirmed(self, obj: Account) -> bool | None:
        return obj.email_verified_at is not None if obj.needs_email_verification else None

    @admin.action(description="Approve the selected waiting sign-ups")
    def approve(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        user = request.user if isinstance(request.user, User) else None
        done = sum(signups.account_approve(account=a, by=user) for a in queryset)
        self.message_user(request, f"{done} sign-up(s) approved.", messages.SUCCESS)

    @admin.action(description="Refuse the selected waiting sign-ups")
    def refuse(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        user = request.user if isinstance(request.user, User) else None
        done = sum(signups.account_refuse(account=a, by=user) for a in queryset)
        self.message_user(request, f"{done} sign-up(s) refused.", messages.SUCCESS)


@admin.register(SignupSettings)
class SignupSettingsAdmin(admin.ModelAdmin[SignupSettings]):
    """One row: the list page goes straight to it."""

    fields = (
        "mode",
        ("creators_may_invite", "invitation_days"),
        "verify_email",
        ("probation_plan", "probation_days"),
    )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        row = SignupSettings.load()
        return HttpResponseRedirect(reverse("admin:accounts_signupsettings_change", args=[row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvitationAddForm(forms.ModelForm[Invitation]):
    class Meta:
        model = Invitation
        fields = ("email",)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    """Adding an invitation e-mails its link; an unused one can be revoked."""

    list_display = ("email", "invited_by", "created_at", "expires_at", "status")
    list_select_related = ("invited_by", "accepted_by")
    search_fields = ("email",)
    actions = ("revoke",)
    readonly_fields = ("invited_by", "created_at", "expires_at", "accepted_at", "accepted_by")
    fields = ("email", *readonly_fields, "revoked_at")

    def get_form(
        self,
        request: HttpRequest,
        obj: Invitation | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[Invitation]]:
        if obj is None:
            kwargs["form"] = InvitationAddForm
            kwargs["fields"] = ("email",)
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Invitation | None = None) -> Any:
        return ("email",) if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Invitation | None = None) -> Any:
        return () if obj is None else (*self.fields,)

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        if change:
            return
        user = request.user if isinstance(request.user, User) else None
        # A mail server that is down is an error page here, and no invitation is kept.
        sent = signups.invitation_send(email=obj.email, invited_by=user, request=request)
        obj.pk, obj.token_sha256, obj.expires_at = sent.pk, sent.token_sha256, sent.expires_at
        obj._state.adding = False

    @admin.display(description="Status")
    def status(self, obj: Invitation) -> str:
        if obj.accepted_at:
            return f"used by {obj.accepted_by}"
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "valid"

    @admin.action(description="Revoke the selected unused invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        user = request.user if isinstance(request.user, User) else None
        done = sum(signups.invitation_revoke(invitation=i, by=user) for i in queryset)
        self.message_user(request, f"{done} invitation(s) revoked.", messages.SUCCESS)


class AccountInline(admin.StackedInline[Account, User]):
    model = Account
    can_delete = False
    fields = ("plan",)


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StudioUserAdmin(UserAdmin[User]):
    """Django's user admin with the creator's plan on the same page."""

    inlines = (AccountInline,)
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "plan")
    list_select_related = ("account__plan",)

    @admin.display(description="Plan")
    def plan(self, obj: User) -> str:
        account = getattr(obj, "account", None)
        return account.plan.name if account else "–"
