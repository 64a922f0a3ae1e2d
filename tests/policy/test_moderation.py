"""The moderation endpoint: a real OpenAI-compatible ``/v1/moderations`` server on loopback,
asked through the official ``openai`` SDK. Per-category thresholds decide; with none, the
endpoint's own verdict; while it is down, the operator's fallback (refuse with "try again
later", or allow)."""

from __future__ import annotations

import html

import pytest

from generations.models import Generation
from policy.checks import DEFAULT_REASON, TRY_AGAIN
from policy.models import CategoryThreshold, PolicySettings, Refusal, Rule
from tests.policy.helpers import post_generate
from tests.policy.moderation_server import ModerationServer

pytestmark = pytest.mark.django_db

GORE = "Graphic violence is not allowed here."


@pytest.fixture
def server():
    server = ModerationServer(
        triggers={"gore": ("violence/graphic", 0.9), "scuffle": ("violence", 0.3)}
    )
    yield server
    server.stop()


def point_at(server, **fields) -> PolicySettings:
    row = PolicySettings.load()
    row.moderation_url = server.base_url
    row.moderation_timeout = 2.0
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def test_a_score_over_its_threshold_is_refused_with_that_categorys_reason(
    owner_client, user, server, settings
):
    settings.STUDIO_MODERATION_API_KEY = "mod-key-1"
    row = point_at(server)
    CategoryThreshold.objects.create(
        settings=row, category="violence/graphic", threshold=0.5, public_reason=GORE
    )

    response = post_generate(owner_client, "a zombie film, lots of gore")

    assert GORE in response.content.decode()
    assert "violence/graphic" not in response.content.decode()
    assert not Generation.objects.exists()
    assert server.inputs == ["a zombie film, lots of gore"]
    assert server.keys == ["Bearer mod-key-1"]
    refusal = Refusal.objects.get()
    assert (refusal.stage, refusal.rule, refusal.user) == (
        "prompt",
        "moderation: violence/graphic (0.900)",
        user,
    )


def test_a_score_under_its_threshold_passes(owner_client, server):
    row = point_at(server)
    CategoryThreshold.objects.create(settings=row, category="violence", threshold=0.5)

    post_generate(owner_client, "a playground scuffle, cartoon style")

    assert Generation.objects.count() == 1
    assert (
        server.verdict("a playground scuffle, cartoon", None)["results"][0]["category_scores"][
            "violence"
        ]
        == 0.3
    )
    assert len(server.inputs) == 1


def test_a_strict_threshold_refuses_what_the_endpoint_would_let_through(owner_client, server):
    row = point_at(server)
    CategoryThreshold.objects.create(settings=row, category="violence", threshold=0.2)

    response = post_generate(owner_client, "a playground scuffle, cartoon style")

    assert DEFAULT_REASON in html.unescape(response.content.decode())
    assert not Generation.objects.exists()


def test_with_no_thresholds_the_endpoints_own_verdict_decides(owner_client, server):
    point_at(server)
    post_generate(owner_client, "a playground scuffle")
    assert Generation.objects.count() == 1

    response = post_generate(owner_client, "so much gore")

    assert DEFAULT_REASON in html.unescape(response.content.decode())
    assert Generation.objects.count() == 1
    assert Refusal.objects.get().rule == "moderation: violence/graphic (0.900)"


def test_the_rules_are_checked_first_and_a_refused_prompt_costs_no_moderation_call(
    owner_client, server
):
    point_at(server)
    Rule.objects.create(name="x", patterns="bazooka", public_reason="No weapons.")

    response = post_generate(owner_client, "a bazooka")

    assert "No weapons." in response.content.decode()
    assert server.inputs == []


@pytest.mark.parametrize("down", ["unreachable", "error 500"])
def test_an_outage_refuses_with_try_again_later_when_the_operator_says_so(
    owner_client, server, down
):
    point_at(server, on_outage=PolicySettings.Outage.REFUSE)
    if down == "unreachable":
        server.stop()
    else:
        server.fail_status = 500

    response = post_generate(owner_client, "a quiet lake at dawn")

    assert TRY_AGAIN in response.content.decode()
    assert "try again later" in TRY_AGAIN
    assert not Generation.objects.exists()
    refusal = Refusal.objects.get()
    assert refusal.rule.startswith("moderation unavailable (")
    assert (
        "APIConnectionError" if down == "unreachable" else "InternalServerError"
    ) in refusal.rule


@pytest.mark.parametrize("down", ["unreachable", "error 503"])
def test_an_outage_lets_prompts_through_when_the_operator_says_so(owner_client, server, down):
    point_at(server, on_outage=PolicySettings.Outage.ALLOW)
    if down == "unreachable":
        server.stop()
    else:
        server.fail_status = 503

    post_generate(owner_client, "a quiet lake at dawn")

    assert Generation.objects.count() == 1
    assert not Refusal.objects.exists()
