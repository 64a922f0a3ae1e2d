"""VideoEndpoint moves here from the generations app. Its table and rows stay as they are
(``generations_videoendpoint``); its content type (and its permissions) follow."""

from django.db import migrations, models


def move_content_type(apps, schema_editor, source="generations", target="openai_compat"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=target, model="videoendpoint").exists():
        ContentType.objects.filter(app_label=source, model="videoendpoint").update(
            app_label=target
        )


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="openai_compat", target="generations")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("generations", "0003_seed_plans"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="VideoEndpoint",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("slug", models.SlugField(max_length=40, unique=True)),
                        ("name", models.CharField(max_length=100)),
                        ("base_url", models.URLField(help_text="Up to and including /v1.", max_length=300)),
                        ("api_key", models.CharField(blank=True, max_length=500)),
                        ("model_ids", models.CharField(help_text="Comma-separated model ids, the first is the default.", max_length=500)),
                        ("sizes", models.CharField(default="1280x720,720x1280", help_text="Comma-separated WIDTHxHEIGHT sizes the server makes.", max_length=300)),
                        ("seconds", models.CharField(default="4,8,12", help_text="Comma-separated clip lengths in seconds.", max_length=100)),
                        ("image_input", models.BooleanField(default=True, help_text="Takes a reference image.")),
                        ("remix", models.BooleanField(default=False, help_text="Serves POST /videos/{id}/remix.")),
                        ("extend", models.BooleanField(default=False, help_text="Serves POST /videos/extensions.")),
                        ("webhook_secret", models.CharField(blank=True, help_text="Standard Webhooks secret (whsec_...).", max_length=200)),
                        ("enabled", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "generations_videoendpoint", "ordering": ["name"]},
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
