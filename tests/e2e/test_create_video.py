"""A creator's whole path in a real browser: sign up, upload a reference, generate, watch
the progress bar, and play the result from the gallery."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generations.models import Asset, Generation
from tests.generations.test_uploads import bomb_png, png_bytes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]


def test_a_new_creator_gets_from_sign_up_to_a_playing_video(
    page, live_server, start_worker, tmp_path: Path
):
    start_worker()
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.get_by_role("link", name="Create an account").click()
    page.fill("#id_username", "maya")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Create video").wait_for()
    assert "Plus plan" in page.locator("#plan-summary").inner_text()
    assert page.locator("#id_resolution option[value='1080p']").is_disabled()

    bad = tmp_path / "bomb.png"
    bad.write_bytes(bomb_png())
    page.set_input_files("#assets-panel input[type=file]", str(bad))
    page.locator("#assets-panel .errors").wait_for()
    assert "megapixels" in page.locator("#assets-panel .errors").inner_text()
    assert not Asset.objects.exists()

    good = tmp_path / "sunrise.png"
    good.write_bytes(png_bytes((320, 180)))
    page.set_input_files("#assets-panel input[type=file]", str(good))
    page.locator(".asset-list li").wait_for()
    page.get_by_role("button", name="Use as reference").click()

    prompt = "a sunrise over a quiet harbour, gulls circling"
    page.fill("#id_prompt", prompt)
    assert page.locator(".char-count .count").inner_text() == str(len(prompt))
    page.select_option("#id_resolution", "480p")
    page.select_option("#id_aspect_ratio", "16:9")
    page.fill("#id_seconds", "3")
    page.get_by_role("button", name="Generate").click()

    card = page.locator(".job-card").first
    card.wait_for()
    assert prompt in card.inner_text()
    generation = Generation.objects.get()
    assert generation.reference is not None
    page.locator(f"#job-{generation.pk}.state-succeeded").wait_for(timeout=90_000)
    assert page.locator(f"#job-{generation.pk} progress").count() == 0

    page.get_by_role("link", name="Gallery").click()
    page.locator(".tile").first.click()
    video = page.locator("video#player")
    video.wait_for()
    page.wait_for_function("document.querySelector('video#player').readyState >= 2")
    duration = page.evaluate("document.querySelector('video#player').duration")
    assert duration == pytest.approx(3, abs=0.1)
    assert page.evaluate("document.querySelector('video#player').videoWidth") == 854
    assert re.search(r"h264", page.locator(".probe").inner_text())
    credentials = page.locator("#content-credentials").inner_text()
    assert "Valid: signed by Studio (this studio)" in credentials
    page.screenshot(path=str(tmp_path / "detail.png"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    saved = tmp_path / "download.mp4"
    download.value.save_as(saved)
    page.get_by_role("navigation").get_by_role("link", name="Verify").click()
    page.set_input_files("form input[type=file]", str(saved))
    page.get_by_role("button", name="Check").click()
    page.locator(".watermark-result").wait_for()
    assert "this is your video" in page.locator(".watermark-result").inner_text()
    assert "Valid" in page.locator("#verify-result .credentials").inner_text()


def test_a_blank_prompt_gets_a_message_in_the_page(page, live_server, django_user_model):
    django_user_model.objects.create_user("li", password="a-long-pass-phrase-9")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "li")
    page.fill("#id_password", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Create video").wait_for()
    page.fill("#id_prompt", "   ")  # passes the browser's `required`, not the server
    page.get_by_role("button", name="Generate").click()
    page.locator("#create-panel .errors").wait_for()
    assert "required" in page.locator("#create-panel .errors").first.inner_text()
    assert not Generation.objects.exists()
