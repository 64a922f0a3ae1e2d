"""Seed the two plans shaped like Sora's tiers, give every existing user the default one,
and count jobs already in flight as admitted (they went to the workers before quotas)."""

from django.conf import settings
from django.db import migrations
from django.db.models import F


# A frozen copy of generations.plans.SEEDED_PLANS as it was: a migration must not change
# when the code does.
PLANS = [
    {
        "name": "Plus",
        "max_resolution": "720p",
        "max_seconds": 10,
        "max_variations": 2,
        "priority_per_month": 50,
        "concurrent_jobs": 1,
        "watermark_free": False,
        "is_default": True,
        "sort_order": 1,
    },
    {
        "name": "Pro",
        "max_resolution": "1080p",
        "max_seconds": 20,
        "max_variations": 4,
        "priority_per_month": None,
        "concurrent_jobs": 5,
        "watermark_free": True,
        "is_default": False,
        "sort_order": 2,
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("generations", "Plan")
    Account = apps.get_model("generations", "Account")
    Generation = apps.get_model("generations", "Generation")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    for fields in PLANS:
        Plan.objects.get_or_create(name=fields["name"], defaults=fields)
    default = Plan.objects.get(is_default=True)
    for user in User.objects.filter(account__isnull=True):
        Account.objects.create(user=user, plan=default)
    Generation.objects.filter(admitted_at__isnull=True).exclude(state="draft").update(
        admitted_at=F("queued_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0002_plans_provenance_endpoints"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
