"""In a real browser: generate on an OpenAI-compatible endpoint (the loopback server), see the
video in the gallery, and remix it from its page; one server job per generation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from generations.models import Generation
from generations.states import State
from tests.providers.openai_compat.server import FakeVideoServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def server() -> Iterator[FakeVideoServer]:
    with FakeVideoServer(render_seconds=1.0) as fake:
        yield fake


def test_a_creator_generates_on_the_endpoint_and_remixes_the_result(
    page, live_server, start_worker, server, django_user_model
):
    server.endpoint(remix=True)
    django_user_model.objects.create_user("li", password="a-long-pass-phrase-9")
    start_worker()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "li")
    page.fill("#id_password", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Create video").wait_for()

    page.select_option("#id_provider", "openai-loop:vid-1")
    page.select_option("#id_resolution", "720p")
    page.select_option("#id_aspect_ratio", "16:9")
    page.fill("#id_seconds", "5")
    page.locator("#id_provider").dispatch_event("change")  # snaps 5 s to a length it makes
    assert page.input_value("#id_seconds") in ("4", "8")
    page.fill("#id_prompt", "a paper lantern rising over a lake")
    page.get_by_role("button", name="Generate").click()
    page.locator(".job-card").first.wait_for()
    generation = Generation.objects.get()
    page.locator(f"#job-{generation.pk}.state-succeeded").wait_for(timeout=90_000)

    page.get_by_role("link", name="Gallery").click()
    page.locator(".tile").first.click()
    page.locator("video#player").wait_for()
    page.fill("#remix-form input[name=prompt]", "the same lantern, at dawn")
    page.get_by_role("button", name="Remix").click()
    remix = Generation.objects.get(operation="remix")
    page.wait_for_url(f"**/generations/{remix.pk}/")

    def remixed() -> bool:
        remix.refresh_from_db()
        return remix.is_final

    from tests.conftest import wait_for

    wait_for(remixed, 90, "the remix to end")
    assert remix.state == State.SUCCEEDED, remix.error_message
    assert server.calls["create"] == 1 and server.calls["remix"] == 1
    assert len(server.jobs) == 2
