"""The parts every loopback provider server shares: a threaded HTTP server on 127.0.0.1,
canned failures per operation (with headers, e.g. Retry-After), a create accepted and then
answered with a 500 (``accept_then_fail``), a create held until released (``stall_create``:
timeouts and killed workers), output files served at expiring URLs, and a count of every
call. Each provider's server (``tests/providers/<name>/server.py``) adds its protocol."""

from __future__ import annotations

import io
import itertools
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@cache
def sample_mp4(audio: bool = False) -> bytes:
    """A real, tiny H.264 clip (1 s, 24 fps, 64×36; with ``audio`` a 440 Hz AAC track)."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        sound = container.add_stream("aac", rate=48000) if audio else None
        for i in range(24):
            frame = np.full((36, 64, 3), (i * 10) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            t = np.arange(48000) / 48000
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 1024
            for start in range(0, len(samples), chunk):
                piece = samples[start : start + chunk].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
                frame.sample_rate = 48000
                frame.pts = start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return out.getvalue()


@dataclass
class Canned:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


class LoopbackServer:
    """Start with ``with Server() as server``. Subclasses implement ``route``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.failures: dict[str, list[Canned]] = {}
        self.accept_then_fail = 0
        self.stall_create = threading.Event()  # set: creates are held until released
        self.release_create = threading.Event()
        self.create_arrived = threading.Event()
        self.files: dict[str, tuple[bytes, float]] = {}  # token -> (bytes, expires at)
        self.expire_first_url = 0  # this many issued URLs answer 403 (already expired)
        self._ids = itertools.count(1)
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._httpd.server_port}"

    def __enter__(self) -> LoopbackServer:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_create.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- scripting -----------------------------------------------------------------------

    def fail(self, operation: str, status: int, body: Any, times: int = 1, **headers: str):
        """Answer the next ``times`` calls of ``operation`` with this error instead."""
        self.failures.setdefault(operation, []).extend(
            Canned(status, body, {k.replace("_", "-"): v for k, v in headers.items()})
            for _ in range(times)
        )

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}-{secrets.token_hex(4)}"

    def file_url(self, data: bytes, *, ttl: float = 3600.0) -> str:
        """A fresh URL serving ``data``; the first ``expire_first_url`` issued are stale."""
        token = secrets.token_hex(8)
        with self.lock:
            expired = self.expire_first_url > 0
            self.expire_first_url -= expired
        self.files[token] = (data, time.time() - 1 if expired else time.time() + ttl)
        return f"{self.origin}/files/{token}.mp4?sig={secrets.token_hex(4)}"

    def creates(self) -> int:
        return self.calls["create"]

    # --- the protocol (subclasses) -------------------------------------------------------

    def operation(self, method: str, path: str) -> str:
        """The operation name a request is counted and scripted under."""
        raise NotImplementedError

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        raise NotImplementedError

    def check_auth(self, headers: Any, path: str = "") -> Reply | None:
        """A 401 reply when the request's credentials are wrong (subclasses)."""
        return None

    # --- plumbing ------------------------------------------------------------------------

    def _serve_file(self, path: str) -> Reply:
        token = path.rsplit("/", 1)[-1].removesuffix(".mp4")
        found = self.files.get(token)
        if found is None:
            return Reply(404, {"error": "no such file"})
        data, expires = found
        if time.time() > expires:
            return Reply(403, raw=b"<Error>Request has expired</Error>", content_type="text/xml")
        return Reply(200, raw=data, content_type="video/mp4")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, reply: Reply) -> None:
                raw = reply.raw
                if raw is None:
                    raw = json.dumps(reply.body).encode() if reply.body is not None else b""
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(raw)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method: str) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if split.path.startswith("/files/"):
                    server.calls["file"] += 1
                    self._send(server._serve_file(split.path))
                    return
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                op = server.operation(method, split.path)
                server.calls[op] += 1
                server.requests.append(
                    {
                        "op": op,
                        "method": method,
                        "path": split.path,
                        "query": parse_qs(split.query),
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                refused = server.check_auth(self.headers, split.path)
                if refused is not None:
                    self._send(refused)
                    return
                canned = server.failures.get(op)
                if canned:
                    c = canned.pop(0)
                    self._send(Reply(c.status, c.body, c.headers))
                    return
                if op == "create":
                    server.create_arrived.set()
                reply = server.route(method, split.path, parse_qs(split.query), body)
                if op == "create" and server.stall_create.is_set():
                    # The job exists; its answer is held (a timeout, or a killed worker).
                    server.release_create.wait(60)
                    if server.stall_create.is_set():
                        self.close_connection = True
                        return
                if op == "create" and server.accept_then_fail > 0:
                    server.accept_then_fail -= 1
                    self._send(Reply(500, {"error": "Internal error after accepting"}))
                    return
                self._send(reply)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        return Handler
