"""Plan and Account now belong to the accounts app, VideoEndpoint to providers.openai_compat.
Only the migration state changes here: the tables and their rows stay where they were."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0003_seed_plans"),
        ("accounts", "0001_initial"),
        ("openai_compat", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="Account"),
                migrations.DeleteModel(name="Plan"),
                migrations.DeleteModel(name="VideoEndpoint"),
            ],
        ),
    ]
