"""The offline renderer's render leases (see providers.offline.models.RenderLease)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='RenderLease',
            fields=[
                ('job_id', models.CharField(max_length=120, primary_key=True, serialize=False)),
                ('holder', models.CharField(blank=True, max_length=120)),
                ('beat_at', models.DateTimeField()),
                ('cancel_requested', models.BooleanField(default=False)),
            ],
        ),
    ]
