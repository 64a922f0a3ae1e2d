"""Seed the two plans shaped like Sora's tiers, give every existing user the default one,
and count jobs already in flight as admitted (they went to the workers before quotas)."""

from django.conf import settings
from django.db import migrations
from django.db.models import F


def seed(apps, schema_editor):
    Plan = apps.get_model("generations", "Plan")
    Account = apps.get_model("generations", "Account")
    Generation = apps.get_model("generations", "Generation")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    from generations.plans import SEEDED_PLANS

    for fields in SEEDED_PLANS:
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
