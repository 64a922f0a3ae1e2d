"""The offline job in its row (spec, state, progress, stored files) instead of a job folder
on a shared disk. A render in flight during the upgrade has no spec: its poll reports the job
lost and the generation fails with that message."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('offline', '0001_render_lease'),
    ]

    operations = [
        migrations.AddField(
            model_name='renderlease',
            name='error',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='renderlease',
            name='outputs',
            field=models.JSONField(default=list),
        ),
        migrations.AddField(
            model_name='renderlease',
            name='progress',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='renderlease',
            name='reference',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='renderlease',
            name='spec',
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name='renderlease',
            name='state',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('completed', 'Completed'), ('failed', 'Failed'), ('canceled', 'Canceled')], default='queued', max_length=16),
        ),
    ]
