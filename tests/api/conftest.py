"""Fixtures for the API's tests: Studio served on loopback by a real threaded WSGI server
(optionally behind a wrapper, the one seam for injecting a fault), keys, SDK clients, and
a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from openai import OpenAI

from api.keys import apikey_create


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class StudioServer:
    """Studio's WSGI app on 127.0.0.1:<free port> in a thread (``wrap`` may wrap the app)."""

    def __init__(self, wrap: Callable[[Any], Any] | None = None) -> None:
        app: Any = WSGIHandler()
        self.httpd = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=True)
        self.httpd.set_app(wrap(app) if wrap else app)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit windows and stills start empty in every test."""
    cache.clear()


@pytest.fixture
def studio() -> Iterator[StudioServer]:
    server = StudioServer()
    yield server
    server.close()


@pytest.fixture
def key(user: Any) -> str:
    return apikey_create(owner=user, name="tests").secret


@pytest.fixture
def other_key(other_user: Any) -> str:
    return apikey_create(owner=other_user, name="bob's").secret


def sdk(server: StudioServer, secret: str, **options: Any) -> OpenAI:
    options.setdefault("max_retries", 0)
    return OpenAI(base_url=server.base_url, api_key=secret, **options)


@dataclass
class Receiver:
    """A webhook receiver on loopback: answers each POST with the next status of ``answers``
    (then 200), and keeps every request it got."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    state.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=state.httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.httpd.shutdown()
    state.httpd.server_close()


def fetch_in_ranges(url: str, secret: str, pieces: int = 3) -> tuple[bytes, bytes]:
    """GET ``url`` whole, then again as ``pieces`` byte ranges and a suffix range, checking
    each 206 answer's headers; returns (whole body, the ranges joined)."""
    auth = {"Authorization": f"Bearer {secret}"}
    whole = httpx2.get(url, headers=auth)
    assert whole.status_code == 200, whole.text
    assert whole.headers["Accept-Ranges"] == "bytes"
    size = len(whole.content)
    assert int(whole.headers["Content-Length"]) == size > pieces
    step = size // pieces + 1
    joined = b""
    for start in range(0, size, step):
        end = min(start + step, size) - 1
        part = httpx2.get(url, headers={**auth, "Range": f"bytes={start}-{end}"})
        assert part.status_code == 206, part.text
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert int(part.headers["Content-Length"]) == end - start + 1 == len(part.content)
        assert part.headers["Content-Type"] == whole.headers["Content-Type"]
        joined += part.content
    tail = httpx2.get(url, headers={**auth, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    beyond = httpx2.get(url, headers={**auth, "Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    return whole.content, joined
