"""A GIN index on the generations' prompts for full-text search, on PostgreSQL only (SQLite
searches with icontains). Built on library.selectors.prompt_vector(), the expression the
search filters on, so the planner can use it."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "generation_prompt_fts"


def _index():
    return GinIndex(SearchVector("prompt", config="english"), name=INDEX_NAME)


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("generations", "Generation"), _index())


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("generations", "Generation"), _index())


class Migration(migrations.Migration):

    dependencies = [
        ("library", "0001_initial"),
        ("generations", "0005_lineage"),
    ]

    operations = [migrations.RunPython(add_index, remove_index)]
