"""Compare in a real browser: one prompt sent from the composer to two Runway models (its
loopback server), the group page side by side, and its mute toggle turning the sound of
every video on and off."""

from __future__ import annotations

import pytest

from generations.models import Generation
from providers.runway.models import RunwayAccount
from tests.conftest import put_on_plan
from tests.providers.runway.server import API_KEY, RunwayServer
from tests.providers.steps import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_creator_compares_two_models_side_by_side_and_unmutes_them(
    page, live_server, django_user_model
):
    user = django_user_model.objects.create_user("ines", password="a-long-pass-phrase-9")
    put_on_plan(user, "Pro")
    with RunwayServer() as server:
        RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)
        page.goto(live_server.url + "/accounts/login/")
        page.fill("#id_username", "ines")
        page.fill("#id_password", "a-long-pass-phrase-9")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Create video").wait_for()

        page.fill("#id_prompt", "a lighthouse at dusk, waves below")
        page.fill("#id_seconds", "4")
        page.locator(".compare-row summary").click()
        page.select_option("#id_compare", ["runway:veo3.1", "runway:veo3.1_fast"])
        page.get_by_role("button", name="Compare", exact=True).click()
        page.get_by_role("heading", name="Compare").wait_for()

        jobs = list(Generation.objects.filter(owner=user).order_by("created_at"))
        assert [j.model for j in jobs] == ["veo3.1", "veo3.1_fast"]
        assert page.url.endswith(f"/compare/{jobs[0].compare_group}/")
        for job in jobs:
            run(job)
        page.reload()
        page.locator(".compare-take video").nth(1).wait_for()
        assert page.locator(".compare-take").count() == 2
        assert server.creates() == 2

        muted = "Array.from(document.querySelectorAll('.compare video'), v => v.muted)"
        assert page.evaluate(muted) == [True, True]
        page.get_by_role("button", name="Unmute").click()
        assert page.evaluate(muted) == [False, False]
        page.get_by_role("button", name="Mute").click()
        assert page.evaluate(muted) == [True, True]
