"""A real Runway API server on loopback, written from ``shared/specs/providers.md`` §3.

``POST /v1/text_to_video`` and ``/v1/image_to_video`` answer ``{id}``; ``GET /v1/tasks/{id}``
walks ``THROTTLED`` (when ``throttled_seconds``) → ``PENDING`` → ``RUNNING`` (+progress) →
an outcome: ``SUCCEEDED`` with fresh output URLs at every read, ``FAILED`` with a
``SAFETY.*`` / ``INTERNAL.BAD_OUTPUT.*`` / other ``failureCode``, or a status outside the
protocol (``ARCHIVED``); ``DELETE /v1/tasks/{id}`` cancels. Every task carries its cost in
credits. Like Runway it takes no idempotency key and lists no tasks; it refuses a request
without ``X-Runway-Version``. Misbehaviour comes from ``LoopbackServer``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.providers.loopback import LoopbackServer, Reply, sample_mp4

API_KEY = "key_test_runway"
CREDITS_PER_SECOND = 12


@dataclass
class Task:
    id: str
    endpoint: str
    body: dict[str, Any]
    created_at: float
    render_seconds: float
    throttled_seconds: float
    outcome: str
    canceled: bool = False

    def as_json(self, server: RunwayServer) -> dict[str, Any]:
        elapsed = time.time() - self.created_at
        created = datetime.fromtimestamp(self.created_at, UTC).isoformat().replace("+00:00", "Z")
        credits = CREDITS_PER_SECOND * int(self.body.get("duration") or 5)
        data: dict[str, Any] = {"id": self.id, "createdAt": created}
        if self.canceled:
            return {**data, "status": "CANCELLED", "cost": {"credits": 0}}
        if elapsed < self.throttled_seconds:
            return {**data, "status": "THROTTLED", "estimatedCost": {"credits": credits}}
        elapsed -= self.throttled_seconds
        if elapsed < self.render_seconds:
            if elapsed < self.render_seconds / 4:
                return {**data, "status": "PENDING", "estimatedCost": {"credits": credits}}
            return {
                **data,
                "status": "RUNNING",
                "progress": round(elapsed / self.render_seconds, 2),
                "estimatedCost": {"credits": credits},
            }
        cost = {"credits": credits}
        if self.outcome == "succeeded":
            audio = bool(self.body.get("audio"))
            return {
                **data,
                "status": "SUCCEEDED",
                "cost": cost,
                "output": [server.file_url(sample_mp4(audio))],
            }
        if self.outcome == "unknown":
            return {**data, "status": "ARCHIVED"}
        codes = {
            "safety": ("SAFETY.INPUT.TEXT", "The prompt was flagged by our moderation."),
            "bad_output": ("INTERNAL.BAD_OUTPUT.CODE01", "The output was unusable."),
            "failed": ("INTERNAL", "An unexpected error occurred."),
        }
        code, failure = codes[self.outcome]
        return {
            **data,
            "status": "FAILED",
            "cost": {"credits": 0},
            "failure": failure,
            "failureCode": code,
        }


class RunwayServer(LoopbackServer):
    """``server.base_url`` is what the SDK's ``base_url`` takes."""

    def __init__(self, *, render_seconds: float = 0.0) -> None:
        super().__init__()
        self.base_url = self.origin
        self.render_seconds = render_seconds
        self.throttled_seconds = 0.0
        self.outcome = "succeeded"
        # Outcomes for the next tasks in order, before ``outcome`` applies.
        self.outcomes: list[str] = []
        self.tasks: dict[str, Task] = {}

    def operation(self, method: str, path: str) -> str:
        if method == "POST" and path in ("/v1/text_to_video", "/v1/image_to_video"):
            return "create"
        if path.startswith("/v1/tasks/"):
            return {"GET": "retrieve", "DELETE": "delete"}.get(method, "other")
        return "other"

    def check_auth(self, headers: Any, path: str = "") -> Reply | None:
        if headers.get("Authorization") != f"Bearer {API_KEY}":
            return Reply(401, {"error": "Invalid API key"})
        if headers.get("X-Runway-Version") != "2024-11-06":
            return Reply(400, {"error": "X-Runway-Version header is required"})
        return None

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        op = self.operation(method, path)
        if op == "create":
            if not isinstance(body, dict) or not body.get("promptText") or not body.get("model"):
                return Reply(400, {"error": "promptText and model are required"})
            if path.endswith("image_to_video") and not body.get("promptImage"):
                return Reply(400, {"error": "promptImage is required"})
            with self.lock:
                outcome = self.outcomes.pop(0) if self.outcomes else self.outcome
                task = Task(
                    id=self.new_id("task-"),
                    endpoint=path.rsplit("/", 1)[-1],
                    body=body,
                    created_at=time.time(),
                    render_seconds=self.render_seconds,
                    throttled_seconds=self.throttled_seconds,
                    outcome=outcome,
                )
                self.tasks[task.id] = task
            return Reply(200, {"id": task.id})
        task_id = path.removeprefix("/v1/tasks/")
        task = self.tasks.get(task_id)
        if task is None:
            return Reply(404, {"error": "Task not found"})
        if op == "delete":
            task.canceled = True
            return Reply(204, raw=b"")
        if op == "retrieve":
            return Reply(200, task.as_json(self))
        return Reply(404, {"error": "Not found"})
