"""Lineage: an edit's parent is recorded when it is created (and filled in for edits made
before the table existed); the detail page shows "made from" and "used in", and the remix
tree shows the family. Two or more parents (blend, stitch) fit the same table."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.urls import reverse

from generations import services
from generations.models import Lineage
from generations.services.lineage import lineage_record
from generations.spec import GenerationSpec
from tests.library.conftest import card

pytestmark = pytest.mark.django_db


def _edit(owner, parent, prompt: str):
    spec = GenerationSpec(prompt=prompt, resolution="480p", seconds=1, parent=parent)
    return services.generation_create(owner=owner, spec=spec)


def test_an_edit_records_its_parent_and_first_take_as_source(user):
    parent = card(user, "the original harbour", takes=2, variations=2)
    child = _edit(user, parent, "the harbour at night")
    row = Lineage.objects.get(child=child)
    assert (row.role, row.position) == ("source", 0)
    assert row.parent_generation == parent
    assert row.parent_video == parent.videos.get(index=0)
    fresh = services.generation_create(
        owner=user, spec=GenerationSpec(prompt="from scratch", resolution="480p", seconds=1)
    )
    assert not Lineage.objects.filter(child=fresh).exists()


def test_a_remix_records_the_very_video_it_started_from(user):
    parent = card(user, "a remix source", takes=2, variations=2)
    second = parent.videos.get(index=1)
    child = card(user, "remixed", parent=parent, source_video=second, operation="remix")
    lineage_record(child)
    lineage_record(child)  # idempotent
    assert list(Lineage.objects.filter(child=child).values_list("parent_video", flat=True)) == [
        second.pk
    ]


def test_two_or_more_parents_fit_with_roles_and_positions(user):
    a, b = card(user, "first clip"), card(user, "second clip")
    blend = card(user, "a blend")
    Lineage.objects.create(child=blend, parent_generation=a, role="first")
    Lineage.objects.create(child=blend, parent_generation=b, role="second")
    stitch = card(user, "a stitch")
    for n, parent in enumerate([a, b, a]):
        Lineage.objects.create(child=stitch, parent_generation=parent, role="scene", position=n)
    assert Lineage.objects.filter(child=stitch).count() == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        Lineage.objects.create(child=blend, parent_generation=a, role="first")


def test_the_detail_pages_show_made_from_and_used_in_and_the_tree(owner_client, user):
    parent = card(user, "grandparent shot")
    child = _edit(user, parent, "child shot")
    grandchild = _edit(user, child, "grandchild shot")
    parent_page = owner_client.get(reverse("generation_detail", args=[parent.pk])).content.decode()
    assert "Used in" in parent_page and "child shot" in parent_page
    child_page = owner_client.get(reverse("generation_detail", args=[child.pk])).content.decode()
    assert "Made from" in child_page and "grandparent shot" in child_page
    assert "grandchild shot" in child_page
    tree = owner_client.get(reverse("library_tree", args=[grandchild.pk])).content.decode()
    positions = [tree.index(p) for p in ("grandparent shot", "child shot", "grandchild shot")]
    assert positions == sorted(positions)


def test_the_migration_fills_lineage_for_edits_made_before_it(user):
    parent = card(user, "old parent")
    child = _edit(user, parent, "old child")
    Lineage.objects.all().delete()
    migration = importlib.import_module("generations.migrations.0005_lineage")
    migration.fill_lineage(apps, None)
    row = Lineage.objects.get(child=child)
    assert row.parent_generation == parent and row.parent_video == parent.videos.get()
