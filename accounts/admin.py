"""Django admin for plans and accounts: operators edit plans, and change a creator's plan
on Django's own user page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from accounts.models import Account, Plan


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
        ("priority_per_month", "concurrent_jobs"),
        "monthly_spend_cap",
        "watermark_free",
        "allowed_models",
    )

    @admin.display(description="Accounts")
    def accounts_count(self, obj: Plan) -> int:
        return obj.accounts.count()


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    list_display = ("user", "plan", "created_at")
    list_filter = ("plan",)
    list_select_related = ("user", "plan")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)


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
