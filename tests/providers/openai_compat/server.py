"""A real OpenAI-compatible ``/v1/videos`` server on loopback, for tests and the bench.

It speaks the protocol as the spec (``shared/specs/providers.md`` §1) describes it:
multipart (or JSON) create, ``queued → in_progress → completed`` with ``progress``, the
``video`` / ``thumbnail`` / ``spritesheet`` content variants, remix, extensions, a
cursor-paginated list, ``{"error": {...}}`` bodies with their headers, and signed
``video.completed`` / ``video.failed`` webhooks (Standard Webhooks). Like OpenAI, it ignores
``Idempotency-Key``: a second create is a second job.

It can be told to misbehave: canned errors per operation (``fail``), a create that is
accepted and then answered with a 500 (``accept_then_fail``), a create held until released
(``stall_create``, for timeouts and killed workers), jobs that end ``failed`` (moderation),
``expired`` or ``canceled`` (``outcome``), slow progress (``render_seconds``), and no
thumbnail / spritesheet (``extras``). Every request is counted in ``calls``.

And it can speak like other servers do: another dialect's status words (``dialect``, e.g.
``{"in_progress": "processing"}``), a list that leaves fields out of its jobs
(``list_omits``) or lags behind its creates (``list_lag`` seconds), jobs made by another
client of the same account (``add_job``), and content answered with something that is not
a video, such as an HTML page with a 200 (``content_body``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import secrets
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODERATION_MESSAGE = "Your request was blocked by our moderation system."


@cache
def sample_mp4() -> bytes:
    """A real, tiny H.264 clip (1 s, 24 fps, 64×36) made once per process."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        for i in range(24):
            frame = np.full((36, 64, 3), (i * 10) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@cache
def sample_image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 120, 40)).save(out, fmt)
    return out.getvalue()


@dataclass
class Job:
    id: str
    prompt: str
    model: str
    size: str
    seconds: str
    created_at: float
    render_seconds: float
    outcome: str = "completed"  # or "moderation", "failed", "expired", "canceled"
    remixed_from_video_id: str | None = None
    reference: bytes | None = None
    webhook_sent: bool = False

    def finishes_at(self) -> float:
        return self.created_at + self.render_seconds

    def as_video(self, now: float) -> dict[str, Any]:
        elapsed = now - self.created_at
        body: dict[str, Any] = {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "created_at": int(self.created_at),
            "completed_at": None,
            "expires_at": None,
            "error": None,
            "remixed_from_video_id": self.remixed_from_video_id,
        }
        if elapsed < self.render_seconds:
            quarter = self.render_seconds / 4
            body["status"] = "queued" if elapsed < quarter else "in_progress"
            body["progress"] = int(100 * elapsed / self.render_seconds)
            return body
        body["progress"] = 100
        done = int(self.finishes_at())
        if self.outcome == "completed":
            body.update(status="completed", completed_at=done, expires_at=done + 3600)
        elif self.outcome == "moderation":
            body.update(
                status="failed",
                error={"code": "moderation_blocked", "message": MODERATION_MESSAGE},
            )
        elif self.outcome == "failed":
            body.update(
                status="failed",
                error={"code": "internal_error", "message": "The renderer ran out of memory."},
            )
        else:
            body["status"] = self.outcome  # "expired", "canceled": outside the SDK's enum
        return body


@dataclass
class Canned:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error_body(message: str, *, code: str | None = None, type_: str = "invalid_request_error"):
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class FakeVideoServer:
    """Start with ``with FakeVideoServer() as server``; ``server.base_url`` ends in /v1."""

    def __init__(self, *, render_seconds: float = 0.0, page_size_cap: int = 100) -> None:
        self.render_seconds = render_seconds
        self.page_size_cap = page_size_cap
        self.jobs: dict[str, Job] = {}
        self.calls: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.failures: dict[str, list[Canned]] = {}
        self.accept_then_fail = 0
        self.outcome = "completed"
        self.extras = True
        self.poll_after_ms: int | None = None
        self.dialect: dict[str, str] = {}
        self.list_omits: set[str] = set()
        self.list_lag = 0.0
        # Per variant ("video", "thumbnail", "spritesheet"): what a 200 answers instead.
        self.content_body: dict[str, tuple[bytes, str]] = {}
        self.stall_create = threading.Event()  # set: creates are held until released
        self.release_create = threading.Event()
        self.create_arrived = threading.Event()
        self.webhook_url = ""
        self.webhook_secret = (
            "whsec_" + base64.b64encode(b"studio-test-secret-32-bytes-long").decode()
        )
        self.webhooks_sent: list[dict[str, Any]] = []
        self.completed_at: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}/v1"

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeVideoServer:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        threading.Thread(target=self._ticker, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.release_create.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def endpoint(self, slug: str = "loop", **fields: Any) -> Any:
        """A VideoEndpoint row (admin's configuration) pointing Studio at this server."""
        from providers.openai_compat.models import VideoEndpoint

        values: dict[str, Any] = {
            "name": "Loopback",
            "base_url": self.base_url,
            "api_key": "sk-test",
            "model_ids": "vid-1",
            "sizes": "1280x720,720x1280",
            "seconds": "4,8",
        }
        return VideoEndpoint.objects.create(slug=slug, **{**values, **fields})

    # --- scripting -----------------------------------------------------------------------

    def fail(
        self, operation: str, status: int, body: dict[str, Any], times: int = 1, **headers: str
    ):
        """Answer the next ``times`` calls of ``operation`` (create, retrieve, content, list,
        remix, extend) with this error instead."""
        canned = Canned(status, body, {k.replace("_", "-"): v for k, v in headers.items()})
        self.failures.setdefault(operation, []).extend([canned] * times)

    def add_job(self, prompt: str, *, created_at: float | None = None, **fields: Any) -> Job:
        """A job made by somebody else (another client of the same account)."""
        with self._lock:
            job = Job(
                id=f"video_{next(self._ids):06d}",
                prompt=prompt,
                model=fields.get("model", "vid-1"),
                size=fields.get("size", "1280x720"),
                seconds=fields.get("seconds", "4"),
                created_at=time.time() if created_at is None else created_at,
                render_seconds=0,
            )
            self.jobs[job.id] = job
        return job

    def finish_all(self) -> None:
        """Make every job's render end now (the clock jumps)."""
        with self._lock:
            for job in self.jobs.values():
                job.render_seconds = min(job.render_seconds, time.time() - job.created_at)

    def speak(self, body: dict[str, Any]) -> dict[str, Any]:
        """A job as this server's dialect says it."""
        return {**body, "status": self.dialect.get(body["status"], body["status"])}

    @property
    def creates(self) -> int:
        return self.calls["create"] + self.calls["remix"] + self.calls["extend"]

    # --- webhooks ------------------------------------------------------------------------

    def sign(
        self, body: bytes, *, msg_id: str = "", timestamp: int | None = None
    ) -> dict[str, str]:
        """Standard Webhooks headers for ``body`` under this server's secret."""
        msg_id = msg_id or "msg_" + secrets.token_hex(8)
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        key = base64.b64decode(self.webhook_secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256)
        signature = base64.b64encode(mac.digest()).decode()
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{signature}",
        }

    def _ticker(self) -> None:
        """Notes when each job's render ends, and sends its webhook when one is set."""
        while not self._stop.wait(0.02):
            now = time.time()
            with self._lock:
                due = [
                    j for j in self.jobs.values() if not j.webhook_sent and j.finishes_at() <= now
                ]
                for job in due:
                    job.webhook_sent = True
                    self.completed_at.setdefault(job.id, now)
            for job in due:
                if self.webhook_url and job.render_seconds > 0:
                    self._send_webhook(job)

    def _send_webhook(self, job: Job) -> None:
        kind = "video.completed" if job.outcome == "completed" else "video.failed"
        event = {
            "id": "evt_" + secrets.token_hex(8),
            "object": "event",
            "created_at": int(time.time()),
            "type": kind,
            "data": {"id": job.id},
        }
        body = json.dumps(event).encode()
        request = urllib.request.Request(
            self.webhook_url.format(job=job.id),
            data=body,
            headers={"Content-Type": "application/json", **self.sign(body)},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except OSError as exc:
            status = getattr(exc, "code", 0)
        self.webhooks_sent.append({"job": job.id, "type": kind, "status": status})

    # --- the protocol --------------------------------------------------------------------

    def _new_job(self, **fields: Any) -> Job:
        with self._lock:
            job = Job(
                id=f"video_{next(self._ids):06d}",
                created_at=time.time(),
                render_seconds=self.render_seconds,
                outcome=self.outcome,
                **fields,
            )
            self.jobs[job.id] = job
        return job

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            # -- plumbing --

            def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-request-id", "req_" + secrets.token_hex(6))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: dict[str, Any], headers=None) -> None:
                self._send(status, json.dumps(data).encode(), "application/json", headers)

            def _error(self, status: int, message: str, code: str | None = None) -> None:
                self._json(status, error_body(message, code=code))

            def _canned(self, operation: str) -> bool:
                queue = server.failures.get(operation)
                if not queue:
                    return False
                canned = queue.pop(0)
                self._json(canned.status, canned.body, canned.headers)
                return True

            def _body(self) -> tuple[dict[str, Any], dict[str, bytes]]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("application/json"):
                    return json.loads(raw or b"{}"), {}
                if not ctype.startswith("multipart/form-data"):
                    return {}, {}
                message = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {ctype}\r\n\r\n".encode() + raw
                )
                fields: dict[str, Any] = {}
                files: dict[str, bytes] = {}
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True) or b""
                    if part.get_filename() is not None:
                        files[name] = payload
                    else:
                        fields[name] = payload.decode()
                return fields, files

            def _authorized(self) -> bool:
                if self.headers.get("Authorization", "").startswith("Bearer "):
                    return True
                self._error(401, "You didn't provide an API key.", "invalid_api_key")
                return False

            def _job(self, job_id: str) -> Job | None:
                job = server.jobs.get(job_id)
                if job is None:
                    self._error(404, f"Video with id '{job_id}' not found.", "video_not_found")
                return job

            # -- routes --

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                parts = url.path.removeprefix("/v1/").split("/")
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if not self._authorized():
                    return
                if parts == ["videos"]:
                    self._list(query)
                elif len(parts) == 2 and parts[0] == "videos":
                    self._retrieve(parts[1])
                elif len(parts) == 3 and parts[0] == "videos" and parts[2] == "content":
                    self._content(parts[1], query.get("variant", "video"))
                else:
                    self._error(404, "Unknown path.")

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path).path.removeprefix("/v1/").split("/")
                fields, files = self._body()
                server.requests.append(
                    {
                        "path": self.path,
                        "fields": fields,
                        "files": sorted(files),
                        "content_type": self.headers.get("Content-Type", ""),
                        "idempotency_key": self.headers.get("Idempotency-Key"),
                    }
                )
                if not self._authorized():
                    return
                if parts == ["videos"]:
                    self._create(fields, files)
                elif parts == ["videos", "extensions"]:
                    self._extend(fields)
                elif len(parts) == 3 and parts[0] == "videos" and parts[2] == "remix":
                    self._remix(parts[1], fields)
                else:
                    self._error(404, "Unknown path.")

            def _create(self, fields: dict[str, Any], files: dict[str, bytes]) -> None:
                server.calls["create"] += 1
                if self._canned("create"):
                    return
                prompt = fields.get("prompt", "")
                if not prompt:
                    self._error(400, "Missing required parameter: 'prompt'.")
                    return
                if "input_reference" in fields:
                    self._error(
                        400,
                        "Invalid type for 'input_reference': expected a file, but got a string.",
                    )
                    return
                job = server._new_job(
                    prompt=prompt,
                    model=fields.get("model", "sora-2"),
                    size=fields.get("size", "720x1280"),
                    seconds=str(fields.get("seconds", "4")),
                    reference=files.get("input_reference"),
                )
                self._accepted(job)

            def _accepted(self, job: Job) -> None:
                server.create_arrived.set()
                if server.stall_create.is_set():
                    server.release_create.wait(60)
                if server.accept_then_fail:
                    server.accept_then_fail -= 1
                    self._json(500, error_body("The server had an error.", type_="server_error"))
                    return
                self._json(200, server.speak(job.as_video(time.time())))

            def _remix(self, parent_id: str, fields: dict[str, Any]) -> None:
                server.calls["remix"] += 1
                if self._canned("remix"):
                    return
                parent = self._job(parent_id)
                if parent is None:
                    return
                job = server._new_job(
                    prompt=fields.get("prompt", ""),
                    model=parent.model,
                    size=parent.size,
                    seconds=parent.seconds,
                    remixed_from_video_id=parent.id,
                )
                self._accepted(job)

            def _extend(self, fields: dict[str, Any]) -> None:
                server.calls["extend"] += 1
                if self._canned("extend"):
                    return
                video = fields.get("video")
                parent_id = video.get("id") if isinstance(video, dict) else None
                parent = self._job(str(parent_id))
                if parent is None:
                    return
                total = int(parent.seconds) + int(fields.get("seconds", "4"))
                job = server._new_job(
                    prompt=fields.get("prompt", ""),
                    model=parent.model,
                    size=parent.size,
                    seconds=str(total),
                )
                self._accepted(job)

            def _retrieve(self, job_id: str) -> None:
                server.calls["retrieve"] += 1
                if self._canned("retrieve"):
                    return
                job = self._job(job_id)
                if job is None:
                    return
                headers = {}
                if server.poll_after_ms is not None:
                    headers["openai-poll-after-ms"] = str(server.poll_after_ms)
                self._json(200, server.speak(job.as_video(time.time())), headers)

            def _content(self, job_id: str, variant: str) -> None:
                server.calls[f"content:{variant}"] += 1
                if self._canned("content") if variant == "video" else self._canned(variant):
                    return
                job = self._job(job_id)
                if job is None:
                    return
                if job.as_video(time.time())["status"] != "completed":
                    self._error(400, "Video is not ready yet.")
                    return
                if variant in server.content_body:
                    self._send(200, *server.content_body[variant])
                elif variant == "video":
                    self._send(200, sample_mp4(), "video/mp4")
                elif variant in ("thumbnail", "spritesheet") and server.extras:
                    fmt = "WEBP" if variant == "thumbnail" else "JPEG"
                    mime = "image/webp" if variant == "thumbnail" else "image/jpeg"
                    self._send(200, sample_image(fmt), mime)
                else:
                    self._error(404, f"No {variant} for this video.")

            def _list(self, query: dict[str, str]) -> None:
                server.calls["list"] += 1
                if self._canned("list"):
                    return
                now = time.time()
                with server._lock:
                    jobs = sorted(
                        (j for j in server.jobs.values() if j.created_at <= now - server.list_lag),
                        key=lambda j: (j.created_at, j.id),
                    )
                if query.get("order", "desc") == "desc":
                    jobs.reverse()
                after = query.get("after")
                if after:
                    ids = [j.id for j in jobs]
                    jobs = jobs[ids.index(after) + 1 :] if after in ids else []
                limit = min(int(query.get("limit", 20)), server.page_size_cap)
                page = jobs[:limit]
                data = [
                    {k: v for k, v in server.speak(j.as_video(now)).items()
                     if k not in server.list_omits}
                    for j in page
                ]  # fmt: skip
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                        "has_more": len(jobs) > limit,
                    },
                )

        return Handler
