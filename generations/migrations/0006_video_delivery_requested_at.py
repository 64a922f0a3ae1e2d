"""Video.delivery_requested_at: one make_delivery task per video at a time."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0005_lineage"),
    ]

    operations = [
        migrations.AddField(
            model_name="video",
            name="delivery_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
