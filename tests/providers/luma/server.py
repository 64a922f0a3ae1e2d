"""A real Luma Dream Machine API server on loopback, written from
``shared/specs/providers.md`` §4.

``POST /dream-machine/v1/generations/video`` makes a Generation (``queued → dreaming →``
an outcome: ``completed`` with a fresh ``assets.video`` URL at every read, ``failed`` with a
moderation or other ``failure_reason``, or a state outside the protocol); ``GET
/generations/{id}``, ``GET /generations?limit&offset`` (newest first) and ``DELETE
/generations/{id}``. Each generation keeps its ``request``. Like Luma it takes no
idempotency key. Misbehaviour comes from ``LoopbackServer``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.providers.loopback import LoopbackServer, Reply, sample_mp4

API_KEY = "luma-test-key"
PREFIX = "/dream-machine/v1"
MODERATION_REASON = "400: prompt not allowed because advanced moderation failed"


@dataclass
class LumaJob:
    id: str
    request: dict[str, Any]
    created_at: float
    render_seconds: float
    outcome: str

    def as_json(self, server: LumaServer) -> dict[str, Any]:
        elapsed = time.time() - self.created_at
        created = datetime.fromtimestamp(self.created_at, UTC).isoformat()
        data: dict[str, Any] = {
            "id": self.id,
            "generation_type": "video",
            "model": self.request.get("model"),
            "created_at": created,
            "request": {"generation_type": "video", **self.request},
            "assets": None,
            "failure_reason": None,
        }
        if self.outcome == "deleted":
            return {**data, "state": "failed", "failure_reason": "deleted"}
        if elapsed < self.render_seconds:
            state = "queued" if elapsed < self.render_seconds / 4 else "dreaming"
            return {**data, "state": state}
        if self.outcome == "completed":
            return {
                **data,
                "state": "completed",
                "assets": {"video": server.file_url(sample_mp4())},
            }
        if self.outcome == "moderation":
            return {**data, "state": "failed", "failure_reason": MODERATION_REASON}
        if self.outcome == "failed":
            return {**data, "state": "failed", "failure_reason": "Generation failed: GPU lost"}
        return {**data, "state": "archived"}


class LumaServer(LoopbackServer):
    """``server.base_url`` is what the SDK's ``base_url`` takes."""

    def __init__(self, *, render_seconds: float = 0.0, page_cap: int = 100) -> None:
        super().__init__()
        self.base_url = self.origin + PREFIX
        self.render_seconds = render_seconds
        self.page_cap = page_cap
        self.outcome = "completed"
        self.jobs: dict[str, LumaJob] = {}

    def operation(self, method: str, path: str) -> str:
        rest = path.removeprefix(PREFIX)
        if method == "POST" and rest == "/generations/video":
            return "create"
        if rest == "/generations" and method == "GET":
            return "list"
        if rest.startswith("/generations/"):
            return {"GET": "get", "DELETE": "delete"}.get(method, "other")
        return "other"

    def check_auth(self, headers: Any, path: str = "") -> Reply | None:
        if headers.get("Authorization") != f"Bearer {API_KEY}":
            return Reply(401, {"detail": "Invalid API key"})
        return None

    def add_job(self, prompt: str, *, created_at: float | None = None, **request: Any) -> LumaJob:
        with self.lock:
            job = LumaJob(
                id=self.new_id("gen-"),
                request={"prompt": prompt, "model": "ray-2", "aspect_ratio": "16:9", **request},
                created_at=created_at or time.time(),
                render_seconds=self.render_seconds,
                outcome=self.outcome,
            )
            self.jobs[job.id] = job
        return job

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        op = self.operation(method, path)
        if op == "create":
            if not isinstance(body, dict) or body.get("model") not in ("ray-2", "ray-flash-2"):
                return Reply(400, {"detail": "model must be ray-2 or ray-flash-2"})
            if body.get("duration") not in (None, "5s", "9s"):
                return Reply(400, {"detail": "duration must be 5s or 9s"})
            request = dict(body)
            job = self.add_job(str(request.pop("prompt", "")), **request)
            return Reply(201, job.as_json(self))
        if op == "list":
            limit = min(int(query.get("limit", ["100"])[0]), self.page_cap)
            offset = int(query.get("offset", ["0"])[0])
            ordered = sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)
            page = ordered[offset : offset + limit]
            return Reply(
                200,
                {
                    "generations": [j.as_json(self) for j in page],
                    "count": len(page),
                    "has_more": offset + limit < len(ordered),
                    "limit": limit,
                    "offset": offset,
                },
            )
        job = self.jobs.get(path.rsplit("/", 1)[-1])
        if job is None:
            return Reply(404, {"detail": "Generation not found"})
        if op == "delete":
            job.outcome = "deleted"
            return Reply(204, raw=b"")
        return Reply(200, job.as_json(self))
