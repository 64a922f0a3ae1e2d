"""An operator's rules in a real browser: a waitlisted sign-up sees its place and cannot
generate; once approved, a blocked prompt gets the rule's public reason in the page and an
allowed one makes its job."""

from __future__ import annotations

import pytest

from accounts.models import Account, SignupSettings
from accounts.plans import plan_default
from accounts.signup import account_approve
from generations.models import Generation
from policy.models import Rule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_waitlisted_creator_waits_then_meets_the_content_policy(page, live_server):
    plan_default()
    SignupSettings.objects.update_or_create(pk=1, defaults={"mode": "waitlist"})
    Rule.objects.create(
        name="weapons (internal)", patterns="bazooka", public_reason="No weapons, please."
    )
    page.goto(live_server.url + "/signup/")
    assert "New accounts join a waitlist" in page.content()
    page.fill("#id_username", "noor")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign up").click()
    page.locator("#waitlist-position").wait_for()
    assert page.locator("#waitlist-position").inner_text() == "You are number 1 on the waitlist."

    page.goto(live_server.url + "/")
    page.fill("#id_prompt", "a lighthouse at dusk")
    page.get_by_role("button", name="Generate").click()
    page.locator("#create-panel .errors").wait_for()
    assert "number 1 on the waitlist" in page.locator("#create-panel .errors").first.inner_text()
    assert not Generation.objects.exists()

    account_approve(account=Account.objects.get(user__username="noor"), by=None)
    page.fill("#id_prompt", "a cat holding a Bazooka")
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("No weapons, please.").wait_for()
    assert "weapons (internal)" not in page.content()
    assert not Generation.objects.exists()

    page.fill("#id_prompt", "a cat holding a balloon")
    page.get_by_role("button", name="Generate").click()
    page.locator("#jobs article.job-card").first.wait_for()
    assert Generation.objects.get().prompt == "a cat holding a balloon"
