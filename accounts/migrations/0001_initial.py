"""Plan and Account move here from the generations app. Their tables and rows stay as they
are (``generations_plan``, ``generations_account``): only Django's idea of which app owns
them changes, and their content types (and so every permission granted on them) follow."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ("plan", "account")


def move_content_types(apps, schema_editor, source="generations", target="accounts"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="accounts", target="generations")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("generations", "0003_seed_plans"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Plan",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=60, unique=True)),
                        ("max_resolution", models.CharField(choices=[("480p", "480p"), ("720p", "720p"), ("1080p", "1080p")], default="720p", max_length=8)),
                        ("max_seconds", models.PositiveSmallIntegerField(default=10)),
                        ("max_variations", models.PositiveSmallIntegerField(default=2)),
                        ("priority_per_month", models.PositiveIntegerField(blank=True, help_text="Priority generations per calendar month; empty = unlimited.", null=True)),
                        ("concurrent_jobs", models.PositiveSmallIntegerField(default=1, help_text="Jobs that may run at once; more wait in the queue.")),
                        ("watermark_free", models.BooleanField(default=False, help_text="Downloads without the visible watermark.")),
                        ("allowed_models", models.TextField(blank=True, help_text="One provider (offline) or provider:model per line; empty allows every model.")),
                        ("is_default", models.BooleanField(default=False, help_text="The plan new sign-ups get.")),
                        ("sort_order", models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "generations_plan",
                        "ordering": ["sort_order", "name"],
                        "constraints": [models.UniqueConstraint(condition=models.Q(("is_default", True)), fields=("is_default",), name="one_default_plan")],
                    },
                ),
                migrations.CreateModel(
                    name="Account",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="account", to=settings.AUTH_USER_MODEL)),
                        ("plan", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="accounts", to="accounts.plan")),
                    ],
                    options={"db_table": "generations_account"},
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
