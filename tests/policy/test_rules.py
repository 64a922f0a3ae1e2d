"""The operator's rules: a blocked prompt is refused in the Generate form with the rule's
public reason (never the rule), saves nothing and spends no quota; words match whole words
only; phrases, regular expressions and per-language lists; admin refuses a broken regex."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Generation
from generations.selectors import usage_get_for_user
from policy.checks import active_rules
from policy.models import Refusal, Rule
from policy.rules import first_match
from tests.policy.helpers import post_generate

pytestmark = pytest.mark.django_db

REASON = "Prompts about weapons are not allowed here."


def block(patterns: str, **fields) -> Rule:
    fields.setdefault("name", "weapons list (internal)")
    fields.setdefault("public_reason", REASON)
    return Rule.objects.create(patterns=patterns, **fields)


def fires(text: str) -> bool:
    return first_match(text, active_rules()) is not None


def test_a_blocked_prompt_is_a_form_error_with_no_row_and_no_quota_spent(owner_client, user):
    rule = block("bazooka\nrocket launcher")
    before = usage_get_for_user(user)

    response = post_generate(owner_client, "A cat with a Bazooka on a roof", priority="on")

    html = response.content.decode()
    assert response.status_code == 200
    assert REASON in html
    assert "weapons list" not in html and "rocket launcher" not in html
    assert not Generation.objects.exists()
    after = usage_get_for_user(user)
    assert (after.priority_used, after.running) == (before.priority_used, before.running) == (0, 0)
    refusal = Refusal.objects.get()
    assert (refusal.stage, refusal.rule, refusal.reason, refusal.user) == (
        "prompt",
        f"rule {rule.pk}: weapons list (internal)",
        REASON,
        user,
    )
    assert refusal.excerpt == "A cat with a Bazooka on a roof"


def test_an_allowed_prompt_still_makes_its_job(owner_client):
    block("bazooka")
    post_generate(owner_client, "a cat on a roof at dawn")
    assert Generation.objects.count() == 1
    assert not Refusal.objects.exists()


def test_a_word_rule_does_not_fire_inside_a_longer_word():
    block("ass\ngun")
    assert not fires("a classic assassin film with a gunsmith, shotguns")
    assert not fires("bass guitar, gunk")
    assert fires("what an ASS!")
    assert fires("gun.")
    assert fires("ｇｕｎ in full-width letters")


def test_a_phrase_matches_across_any_spaces_but_not_joined_words():
    block("rocket launcher")
    assert fires("a Rocket\n   Launcher on the hill")
    assert not fires("a rocketlauncher")
    assert not fires("a rocket and a launcher")


def test_a_regular_expression_rule_fires_as_written():
    block(r"\bkill(s|ed|ing)?\b", kind=Rule.Kind.REGEX)
    assert fires("Killing time in the park")
    assert not fires("skilled painters at work")


def test_lists_for_languages_without_spaces_match_inside_text_and_others_do_not():
    block("殺", language="ja")
    block("mord", language="de")
    assert fires("殺人事件のシーン")
    assert not fires("Mordor at sunset")
    assert fires("ein Mord im Nebel")


def test_a_disabled_rule_does_not_fire():
    block("bazooka", enabled=False)
    assert not fires("bazooka")


def test_admin_refuses_a_regular_expression_that_does_not_compile(admin_client):
    response = admin_client.post(
        reverse("admin:policy_rule_add"),
        {
            "name": "broken",
            "kind": "regex",
            "patterns": "fine\n(unclosed",
            "language": "",
            "public_reason": REASON,
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "does not compile" in response.content.decode()
    assert not Rule.objects.exists()
