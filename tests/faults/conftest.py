"""Fault tests: real worker processes on either broker, and what every fault test checks
at the end (the job's final state, nothing lost, nothing twice, no orphan file)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from generations.models import GenerationEvent, Video
from generations.services.sweep import VIDEO_FILE_FIELDS
from studio.celery import app as celery_app
from studio.settings import filesystem_broker_options
from tests.providers.openai_compat.server import FakeVideoServer

BROKERS = ("redis", "embedded")


def _use_broker(url: str, options: dict[str, Any]) -> None:
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = options
    celery_app._after_fork()  # drop the pooled connections and producers of the old one


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest, settings: Any, var_dir: Path) -> Iterator[str]:
    """Each test runs on Redis (as in production) and on the embedded broker (files, as
    ``./dev run`` starts it). The worker processes follow the settings (tests.conftest)."""
    configured = settings.CELERY_BROKER_URL
    if request.param == "redis":
        if not configured.startswith("redis"):
            pytest.skip("no Redis broker configured (CELERY_BROKER_URL)")
        yield "redis"
        return
    if configured.startswith("filesystem"):
        yield "embedded"
        return
    before = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_RESULT_BACKEND = ""
    _use_broker("filesystem://", filesystem_broker_options(var_dir))
    try:
        yield "embedded"
    finally:
        _use_broker(*before)


class HoldingServer(FakeVideoServer):
    """The OpenAI-compatible loopback server, which can also hold the video's content
    request (the download) until released."""

    def __init__(self, **kwargs: Any) -> None:
        self.hold_content = threading.Event()
        self.content_arrived = threading.Event()
        self.release_content = threading.Event()
        super().__init__(**kwargs)

    def __exit__(self, *exc: object) -> None:
        self.release_content.set()
        super().__exit__(*exc)

    def _handler(self) -> Any:
        base = super()._handler()
        server = self

        class Handler(base):  # type: ignore[misc,valid-type]
            def _content(self, job_id: str, variant: str) -> None:
                if variant == "video" and server.hold_content.is_set():
                    server.content_arrived.set()
                    server.release_content.wait(60)
                super()._content(job_id, variant)

        return Handler


@pytest.fixture
def video_server() -> Iterator[HoldingServer]:
    with HoldingServer(render_seconds=2.0) as server:
        server.endpoint()
        yield server


def orphan_files(owner_id: int) -> list[str]:
    """Files in the owner's video folders that no Video field names, and download or
    render leftovers in the work folder."""
    named = {
        getattr(video, field).name
        for video in Video.objects.filter(owner_id=owner_id)
        for field in VIDEO_FILE_FIELDS
        if getattr(video, field)
    }
    found: list[str] = []
    root = f"videos/{owner_id}"
    if default_storage.exists(root):
        for folder in default_storage.listdir(root)[0]:
            for name in default_storage.listdir(f"{root}/{folder}")[1]:
                path = f"{root}/{folder}/{name}"
                if path not in named:
                    found.append(path)
    downloads = Path(settings.STUDIO_WORK_DIR) / "downloads"
    if downloads.exists():
        found += [str(p) for p in downloads.iterdir()]
    return found


def assert_clean_end(generation: Any, *, videos: int = 1) -> None:
    """One Video per variation, submitted once, every file named by a row."""
    assert generation.videos.count() == videos
    events = GenerationEvent.objects.filter(generation=generation)
    assert events.filter(message="submitted").count() <= 1
    assert events.filter(to_state="succeeded").count() <= 1
    assert orphan_files(generation.owner_id) == []
