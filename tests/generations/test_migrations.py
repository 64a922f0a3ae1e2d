"""Moving Plan, Account and VideoEndpoint out of the generations app keeps every row: a
database built at the schema before the move is migrated forward and read back."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Account, Plan
from generations.models import Generation, GenerationEvent, Video
from providers.openai_compat.models import VideoEndpoint

# Apps whose migrations depend on a later generations migration are unapplied too.
BEFORE_THE_MOVE = [
    ("generations", "0003_seed_plans"),
    ("accounts", None),
    ("openai_compat", None),
    ("library", None),
]


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate the test database to ``targets``; returns the apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    graph = executor.loader.graph
    named = {app for app, _ in targets}
    nodes = [t for t in targets if t[1] is not None]
    nodes += [node for node in graph.leaf_nodes() if node[0] not in named]
    return executor.loader.project_state(nodes).apps


def _fill(apps: Any) -> dict[str, Any]:
    """Rows of every moved or touched model, made with the models as they were."""
    User = apps.get_model("auth", "User")
    Plan = apps.get_model("generations", "Plan")
    Account = apps.get_model("generations", "Account")
    Endpoint = apps.get_model("generations", "VideoEndpoint")
    Generation = apps.get_model("generations", "Generation")
    Event = apps.get_model("generations", "GenerationEvent")
    Video = apps.get_model("generations", "Video")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    user = User.objects.create(username="migrated-creator")
    plan = Plan.objects.create(name="Studio Max", max_resolution="1080p", max_seconds=20)
    account = Account.objects.create(user=user, plan=plan)
    endpoint = Endpoint.objects.create(
        slug="gateway", name="Gateway", base_url="http://gw.test/v1", model_ids="vid-1"
    )
    generation = Generation.objects.create(
        owner=user, prompt="a lighthouse at dusk", provider="offline", state="succeeded"
    )
    event = Event.objects.create(generation=generation, to_state="succeeded", message="done")
    video = Video.objects.create(
        owner=user, generation=generation, file="videos/x/master.mp4", watermark="visible"
    )
    plan_type, _ = ContentType.objects.get_or_create(app_label="generations", model="plan")
    grant = Permission.objects.create(
        content_type=plan_type, codename="audit_plan", name="Can audit plans"
    )
    return {
        "user": user.pk,
        "plan": plan.pk,
        "account": account.pk,
        "endpoint": endpoint.pk,
        "generation": generation.pk,
        "event": event.pk,
        "video": video.pk,
        "plan_type": plan_type.pk,
        "grant": grant.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_migrating_a_database_from_before_the_split_keeps_every_row() -> None:
    old_apps = _migrate(BEFORE_THE_MOVE)
    ids = _fill(old_apps)
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    plan = Plan.objects.get(pk=ids["plan"])
    assert (plan.name, plan.max_resolution, plan.max_seconds) == ("Studio Max", "1080p", 20)
    account = Account.objects.select_related("plan", "user").get(pk=ids["account"])
    assert (account.user.username, account.plan) == ("migrated-creator", plan)
    endpoint = VideoEndpoint.objects.get(pk=ids["endpoint"])
    assert (endpoint.slug, endpoint.base_url) == ("gateway", "http://gw.test/v1")
    generation = Generation.objects.get(pk=ids["generation"])
    assert (generation.prompt, generation.owner_id) == ("a lighthouse at dusk", ids["user"])
    assert list(generation.events.values_list("pk", flat=True)) == [ids["event"]]
    assert GenerationEvent.objects.get(pk=ids["event"]).message == "done"
    video = Video.objects.get(pk=ids["video"])
    assert (video.generation_id, video.file.name) == (generation.pk, "videos/x/master.mp4")
    # The content type moved with the model, so a permission granted on it still applies.
    moved = ContentType.objects.get_for_model(Plan)
    assert (moved.pk, moved.app_label) == (ids["plan_type"], "accounts")
    assert Permission.objects.get(pk=ids["grant"]).content_type_id == moved.pk
