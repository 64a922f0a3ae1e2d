"""A real fal.ai queue server on loopback, written from ``shared/specs/providers.md`` §6.

``POST /{owner}/{app}/{path}`` queues a request (``?fal_webhook=`` noted) and answers its
``request_id`` and URLs; ``GET …/requests/{id}/status`` walks ``IN_QUEUE`` (with a
shrinking ``queue_position``) → ``IN_PROGRESS`` → ``COMPLETED`` (with ``error`` /
``error_type`` when the request failed, or a status outside the protocol); ``GET
…/requests/{id}`` is the result (``{video: {url}}``, a fresh URL each read; 422 for a
failed request); ``PUT …/requests/{id}/cancel``. Auth is ``Key <key>``. The queue lists no
requests. Misbehaviour comes from ``LoopbackServer``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.providers.loopback import LoopbackServer, Reply, sample_mp4

API_KEY = "fal-test-id:fal-test-secret"


@dataclass
class FalRequest:
    id: str
    app: str
    path: str
    arguments: dict[str, Any]
    webhook: str
    created_at: float
    queue_ahead: int
    render_seconds: float
    outcome: str
    canceled: bool = False
    status_reads: int = 0

    def status(self) -> dict[str, Any]:
        self.status_reads += 1
        position = self.queue_ahead - self.status_reads + 1
        if position > 0 and not self.canceled:
            return {"status": "IN_QUEUE", "queue_position": position - 1}
        if not self.canceled and time.time() - self.created_at < self.render_seconds:
            return {"status": "IN_PROGRESS", "logs": None}
        done: dict[str, Any] = {"status": "COMPLETED", "logs": None, "metrics": {}}
        if self.canceled:
            return {**done, "error": "Request was cancelled", "error_type": "request_cancelled"}
        if self.outcome == "error":
            return {**done, "error": "Out of GPU memory", "error_type": "runner_error"}
        if self.outcome == "policy":
            return {
                **done,
                "error": "The prompt was flagged",
                "error_type": "content_policy_violation",
            }
        if self.outcome == "unknown":
            return {"status": "PAUSED"}
        return done


class FalServer(LoopbackServer):
    """``server.base_url`` replaces ``https://queue.fal.run`` (``STUDIO_FAL_QUEUE_URL``)."""

    def __init__(self, *, render_seconds: float = 0.0) -> None:
        super().__init__()
        self.base_url = self.origin
        self.render_seconds = render_seconds
        self.queue_ahead = 0
        self.outcome = "completed"
        self.audio = False
        self.jobs: dict[str, FalRequest] = {}

    def operation(self, method: str, path: str) -> str:
        if "/requests/" not in path:
            return "create" if method == "POST" else "other"
        if path.endswith("/status"):
            return "status"
        if path.endswith("/cancel"):
            return "cancel"
        return "result"

    def check_auth(self, headers: Any, path: str = "") -> Reply | None:
        if headers.get("Authorization") != f"Key {API_KEY}":
            return Reply(401, {"detail": "No user found for Key ID and Secret"})
        return None

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        op = self.operation(method, path)
        parts = path.strip("/").split("/")
        app = "/".join(parts[:2])
        if op == "create":
            if not isinstance(body, dict) or not body.get("prompt"):
                return Reply(422, {"detail": [{"loc": ["body", "prompt"], "msg": "required"}]})
            with self.lock:
                job = FalRequest(
                    id=self.new_id("req-"),
                    app=app,
                    path="/".join(parts[2:]),
                    arguments=body,
                    webhook=query.get("fal_webhook", [""])[0],
                    created_at=time.time(),
                    queue_ahead=self.queue_ahead,
                    render_seconds=self.render_seconds,
                    outcome=self.outcome,
                )
                self.jobs[job.id] = job
            base = f"{self.origin}/{app}/requests/{job.id}"
            return Reply(
                200,
                {
                    "request_id": job.id,
                    "response_url": base,
                    "status_url": base + "/status",
                    "cancel_url": base + "/cancel",
                    "queue_position": job.queue_ahead,
                },
                headers={"x-fal-request-id": job.id},
            )
        request_id = parts[3] if len(parts) > 3 else ""
        job = self.jobs.get(request_id)
        if job is None or job.app != app:
            return Reply(404, {"detail": "Request not found"})
        if op == "status":
            return Reply(200, job.status())
        if op == "cancel":
            if job.status().get("status") == "COMPLETED":
                return Reply(400, {"status": "ALREADY_COMPLETED"})
            job.canceled = True
            return Reply(202, {"status": "CANCELLATION_REQUESTED"})
        status = job.status()
        if status.get("error"):
            return Reply(422, {"detail": status["error"], "error_type": status["error_type"]})
        if status.get("status") != "COMPLETED":
            return Reply(400, {"detail": "Request is still in progress"})
        audio = bool(job.arguments.get("generate_audio"))
        return Reply(200, {"video": {"url": self.file_url(sample_mp4(audio))}, "seed": 7})
