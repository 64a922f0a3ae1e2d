"""End to end with a real Celery worker: the SDK's create_and_poll on the offline renderer
reaches completed, every content variant decodes, and the video.completed webhook reaches a
loopback receiver (verified with the standardwebhooks package) on its third try after two
500s."""

from __future__ import annotations

import io
import threading

import av
import pytest
from PIL import Image
from standardwebhooks import Webhook

from api.models import WebhookDelivery
from api.webhooks import endpoint_create
from tests.api.conftest import sdk
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _within(seconds: float, call):
    """Run ``call`` in a thread; fail if it takes longer (poll() has no timeout of its own)."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(value=call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return result["value"]


def test_create_and_poll_completes_every_variant_decodes_and_the_webhook_arrives(
    studio, user, key, receiver, start_worker, monkeypatch, settings
):
    settings.STUDIO_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setenv("STUDIO_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("STUDIO_WEBHOOK_RETRY_SECONDS", "0.2,0.2,0.2")
    endpoint = endpoint_create(owner=user, url=receiver.url, event_types=["video.completed"])
    receiver.answers = [500, 500]
    start_worker()
    client = sdk(studio, key)

    video = _within(
        120,
        lambda: client.videos.create_and_poll(
            prompt="a paper lantern over a lake", model="offline", size="480x480", seconds="1"
        ),
    )

    assert video.status == "completed", video.error
    assert video.progress == 100 and video.completed_at >= video.created_at
    mp4 = client.videos.download_content(video.id, variant="video").read()
    with av.open(io.BytesIO(mp4)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 24 and (frames[0].width, frames[0].height) == (480, 480)
    thumbnail = client.videos.download_content(video.id, variant="thumbnail").read()
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "WEBP" and image.size == (480, 480)
    sheet = client.videos.download_content(video.id, variant="spritesheet").read()
    with Image.open(io.BytesIO(sheet)) as image:
        assert image.format == "JPEG" and image.size == (256 * 5, 256 * 2)

    wait_for(lambda: len(receiver.received) >= 3, 60, "the third webhook try")
    hook = Webhook(endpoint.secret)
    for headers, body in receiver.received:
        payload = hook.verify(body, headers)
        assert payload["type"] == "video.completed" and payload["object"] == "event"
        assert payload["data"] == {"id": video.id}
    assert len({h["webhook-id"] for h, _ in receiver.received}) == 1  # one event, three tries
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).first(),
        30,
        "the delivery to be marked delivered",
    )
    assert [a["status_code"] for a in delivery.attempts] == [500, 500, 200]
    assert all(a["latency_ms"] >= 0 for a in delivery.attempts)


def _readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    after = text.split("<!-- readme-snippet:", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_snippet_runs_against_a_live_studio(
    studio, user, key, start_worker, monkeypatch, tmp_path, capsys
):
    start_worker()
    monkeypatch.setenv("STUDIO_BASE_URL", studio.base_url)
    monkeypatch.setenv("STUDIO_API_KEY", key)
    monkeypatch.chdir(tmp_path)
    code = compile(_readme_snippet(), "README.md", "exec")

    _within(120, lambda: exec(code, {"__name__": "readme"}))

    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(" completed")
    assert "a paper boat on a pond" in out[1]
    with av.open(str(tmp_path / "boat.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24
    with Image.open(tmp_path / "boat.webp") as image:
        assert image.format == "WEBP"
