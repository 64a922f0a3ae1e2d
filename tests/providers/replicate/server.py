"""A real Replicate API server on loopback, written from ``shared/specs/providers.md`` §5.

``POST /v1/models/{owner}/{name}/predictions`` makes a prediction (``starting →
processing`` with tqdm-style progress in ``logs`` → ``succeeded`` with an output URL,
``failed`` with an ``error`` (a safety flag or another), or a status outside the protocol);
``GET /v1/predictions/{id}``, ``GET /v1/predictions`` (cursor pages, newest first), ``POST
/v1/predictions/{id}/cancel`` and ``GET /v1/webhooks/default/secret``. A prediction made
with a ``webhook`` gets signed Standard-Webhooks POSTs there (``webhook_sends``, for a test
to deliver). Like Replicate it takes no idempotency key. Misbehaviour from
``LoopbackServer``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.providers.loopback import LoopbackServer, Reply, sample_mp4

API_TOKEN = "r8_test_token"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"replicate-test-secret-32-bytes!!").decode()


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, at: float | None = None) -> dict[str, str]:
    """Standard-Webhooks headers for ``body``."""
    webhook_id = "msg_" + hashlib.sha1(body).hexdigest()[:12]
    timestamp = str(int(at if at is not None else time.time()))
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body.decode()}".encode(), "sha256")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest.digest()).decode(),
    }


@dataclass
class ReplicatePrediction:
    id: str
    model: str
    input: dict[str, Any]
    webhook: str
    created_at: float
    render_seconds: float
    outcome: str
    canceled: bool = False

    def as_json(self, server: ReplicateServer) -> dict[str, Any]:
        elapsed = time.time() - self.created_at
        data: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "version": "hidden",
            "input": self.input,
            "output": None,
            "logs": "",
            "error": None,
            "metrics": None,
            "created_at": datetime.fromtimestamp(self.created_at, UTC).isoformat(),
            "started_at": None,
            "completed_at": None,
            "urls": {
                "get": f"{server.origin}/v1/predictions/{self.id}",
                "cancel": f"{server.origin}/v1/predictions/{self.id}/cancel",
            },
        }
        if self.canceled:
            return {**data, "status": "canceled"}
        if elapsed < self.render_seconds:
            if elapsed < self.render_seconds / 4:
                return {**data, "status": "starting"}
            percent = int(100 * elapsed / self.render_seconds)
            bar = f"{percent:3d}%|{'#' * (percent // 10):10s}| {percent}/100 [00:01<00:01]"
            return {**data, "status": "processing", "logs": f"loading\n{bar}"}
        data["metrics"] = {"predict_time": round(self.render_seconds, 2)}
        if self.outcome == "succeeded":
            return {**data, "status": "succeeded", "output": server.file_url(sample_mp4())}
        if self.outcome == "nsfw":
            return {**data, "status": "failed", "error": "NSFW content detected. Try again."}
        if self.outcome == "failed":
            return {**data, "status": "failed", "error": "CUDA out of memory"}
        return {**data, "status": "aborted"}


class ReplicateServer(LoopbackServer):
    """``server.base_url`` is what the SDK's ``base_url`` takes."""

    def __init__(self, *, render_seconds: float = 0.0, page_size: int = 100) -> None:
        super().__init__()
        self.base_url = self.origin
        self.render_seconds = render_seconds
        self.page_size = page_size
        self.outcome = "succeeded"
        self.jobs: dict[str, ReplicatePrediction] = {}

    def operation(self, method: str, path: str) -> str:
        if method == "POST" and path.startswith("/v1/models/") and path.endswith("/predictions"):
            return "create"
        if path == "/v1/predictions":
            return "list"
        if path == "/v1/webhooks/default/secret":
            return "secret"
        if path.startswith("/v1/predictions/"):
            return "cancel" if path.endswith("/cancel") else "get"
        return "other"

    def check_auth(self, headers: Any, path: str = "") -> Reply | None:
        if headers.get("Authorization") != f"Bearer {API_TOKEN}":
            return Reply(
                401, {"title": "Unauthenticated", "detail": "Invalid token", "status": 401}
            )
        return None

    def add(self, model: str, inputs: dict[str, Any], *, webhook: str = "") -> ReplicatePrediction:
        with self.lock:
            job = ReplicatePrediction(
                id=self.new_id("p"),
                model=model,
                input=inputs,
                webhook=webhook,
                created_at=time.time(),
                render_seconds=self.render_seconds,
                outcome=self.outcome,
            )
            self.jobs[job.id] = job
        return job

    def webhook_delivery(self, job: ReplicatePrediction) -> tuple[bytes, dict[str, str]]:
        """The signed completed-webhook Replicate would POST for ``job``."""
        body = json.dumps(job.as_json(self)).encode()
        return body, sign(body)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        op = self.operation(method, path)
        if op == "create":
            model = path.removeprefix("/v1/models/").removesuffix("/predictions")
            if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
                return Reply(422, {"title": "Invalid input", "detail": "input is required"})
            job = self.add(model, body["input"], webhook=str(body.get("webhook") or ""))
            fresh = {"status": "starting", "output": None, "error": None, "logs": ""}
            return Reply(201, {**job.as_json(self), **fresh})
        if op == "secret":
            return Reply(200, {"key": WEBHOOK_SECRET})
        if op == "list":
            start = int(query.get("cursor", ["0"])[0])
            ordered = sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)
            page = ordered[start : start + self.page_size]
            more = start + self.page_size < len(ordered)
            following = f"{self.origin}/v1/predictions?cursor={start + self.page_size}"
            return Reply(
                200,
                {
                    "previous": None,
                    "next": following if more else None,
                    "results": [j.as_json(self) for j in page],
                },
            )
        job_id = path.removeprefix("/v1/predictions/").removesuffix("/cancel")
        job = self.jobs.get(job_id)
        if job is None:
            return Reply(
                404, {"title": "Not found", "detail": "Prediction not found", "status": 404}
            )
        if op == "cancel":
            job.canceled = True
        return Reply(200, job.as_json(self))
