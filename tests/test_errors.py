"""Sentry by DSN: a real SDK in a real Django process sends its events to a loopback
receiver; no prompt text is in them unless the operator allows it."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "a lighthouse nobody else should read about"
# The prompt arrives as data (never in the source, which Sentry sends as context lines).
SCRIPT = """
import logging, os, django, sentry_sdk
django.setup()
from django.conf import settings
assert settings.SENTRY_DSN
def render(prompt):
    logging.getLogger("studio.render").info("rendering %s", prompt)
    raise RuntimeError("the renderer fell over")
try:
    render(os.environ["CREATOR_PROMPT"])
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(5)
"""


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[bytes] = []


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding:
            raise AssertionError(f"unexpected encoding {encoding}")
        self.server.bodies.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _run(receiver: Receiver, **env: str) -> bytes:
    port = receiver.server_address[1]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/1",
        "PYTHONPATH": str(ROOT),
        "CREATOR_PROMPT": PROMPT,
        **env,
    }
    subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, check=True, timeout=120
    )
    assert receiver.bodies, "no event reached the receiver"
    return b"".join(receiver.bodies)


def test_errors_reach_sentry_without_the_prompt(receiver):
    sent = _run(receiver)
    assert b"the renderer fell over" in sent and b"RuntimeError" in sent
    assert PROMPT.encode() not in sent


def test_the_operator_may_allow_prompts(receiver):
    sent = _run(receiver, STUDIO_SENTRY_SEND_PROMPTS="1")
    assert b"the renderer fell over" in sent
    assert PROMPT.encode() in sent  # as a local variable and in the log breadcrumb
