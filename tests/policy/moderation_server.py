"""A real OpenAI-compatible ``/v1/moderations`` server on loopback, for tests and the bench.

It answers as OpenAI's endpoint does (``results[0]`` with ``flagged``, ``categories``,
``category_scores`` and ``category_applied_input_types`` for every category): a category
scores ``score`` when one of its trigger words (``triggers``) is in the input, else
0.0001, and is flagged at 0.5. It can be told to fail (``fail_status``: answer every call
with that error), and counts calls and keeps the inputs it saw."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from policy.models import MODERATION_CATEGORIES


@dataclass
class ModerationServer:
    triggers: dict[str, tuple[str, float]] = field(default_factory=dict)  # word -> category, score
    fail_status: int | None = None
    inputs: list[Any] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.inputs.append(body.get("input"))
                server.keys.append(self.headers.get("Authorization", ""))
                if self.path != "/v1/moderations":
                    return self.answer(404, {"error": {"message": "not found"}})
                if server.fail_status is not None:
                    error = {"message": "upstream is down", "type": "server_error"}
                    return self.answer(server.fail_status, {"error": error})
                self.answer(200, server.verdict(str(body.get("input", "")), body.get("model")))

            def answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def verdict(self, text: str, model: str | None) -> dict[str, Any]:
        scores = dict.fromkeys(MODERATION_CATEGORIES, 0.0001)
        words = re.findall(r"\w+", text.lower())
        for word, (category, score) in self.triggers.items():
            if word in words:
                scores[category] = max(scores[category], score)
        flags = {c: s >= 0.5 for c, s in scores.items()}
        return {
            "id": f"modr-{len(self.inputs)}",
            "model": model or "omni-moderation-latest",
            "results": [
                {
                    "flagged": any(flags.values()),
                    "categories": flags,
                    "category_scores": scores,
                    "category_applied_input_types": {c: ["text"] for c in scores},
                }
            ],
        }

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
