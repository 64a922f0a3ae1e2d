"""A real Vertex AI server for Veo on loopback, written from ``shared/specs/providers.md``
§2: an OAuth token endpoint (the service-account JWT grant), ``POST
/v1beta1/{model}:predictLongRunning`` (``{instances, parameters}``) answering an operation
name, and ``POST /v1beta1/{model}:fetchPredictOperation`` answering the operation: not
done, then done with inline videos (one per ``sampleCount``), with zero videos and
RAI-filtered reasons, or with an ``error``. Vertex lists no such operations and takes no
idempotency key. Misbehaviour comes from ``LoopbackServer``.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.providers.loopback import LoopbackServer, Reply, sample_mp4

TOKEN = "ya29.test-token"
RAI_REASON = "Video generation was blocked because the prompt may violate our usage guidelines."


@cache
def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def service_account_file(folder: Path, token_uri: str) -> Path:
    """A service-account JSON key (an RSA key made once) whose token endpoint is
    ``token_uri``."""
    pem = _private_key_pem()
    info = {
        "type": "service_account",
        "project_id": "studio-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "studio@studio-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = folder / "veo-sa.json"
    path.write_text(json.dumps(info))
    return path


@dataclass
class VeoOperation:
    name: str
    model: str
    instance: dict[str, Any]
    parameters: dict[str, Any]
    created_at: float
    render_seconds: float
    outcome: str

    def as_json(self) -> dict[str, Any]:
        if time.time() - self.created_at < self.render_seconds:
            return {"name": self.name, "done": False}
        done: dict[str, Any] = {"name": self.name, "done": True}
        kind = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
        if self.outcome == "error":
            return {**done, "error": {"code": 13, "message": "Internal error encountered."}}
        if self.outcome == "rai":
            return {
                **done,
                "response": {
                    "@type": kind,
                    "raiMediaFilteredCount": int(self.parameters.get("sampleCount") or 1),
                    "raiMediaFilteredReasons": [RAI_REASON],
                },
            }
        audio = bool(self.parameters.get("generateAudio"))
        count = int(self.parameters.get("sampleCount") or 1)
        folder = str(self.parameters.get("storageUri") or "")
        if folder:
            # Written to the bucket: the answer names gs:// objects (served by the server).
            stem = folder.rstrip("/") + "/" + self.name.rsplit("/", 1)[-1]
            videos = [
                {"gcsUri": f"{stem}/sample_{i}.mp4", "mimeType": "video/mp4"} for i in range(count)
            ]
            return {**done, "response": {"@type": kind, "videos": videos}}
        data = base64.b64encode(sample_mp4(audio)).decode()
        videos = [{"bytesBase64Encoded": data, "mimeType": "video/mp4"} for _ in range(count)]
        return {**done, "response": {"@type": kind, "videos": videos}}


class VeoServer(LoopbackServer):
    """``server.base_url`` is what ``HttpOptions(base_url=...)`` takes; ``server.origin``
    also serves the Cloud Storage JSON API (``GET /storage/v1/b/{bucket}/o/{object}
    ?alt=media``) for the objects an operation with a ``storageUri`` wrote."""

    def __init__(self, *, render_seconds: float = 0.0) -> None:
        super().__init__()
        self.base_url = self.origin + "/"
        self.token_uri = self.origin + "/token"
        self.render_seconds = render_seconds
        self.outcome = "completed"
        self.jobs: dict[str, VeoOperation] = {}

    def operation(self, method: str, path: str) -> str:
        if path == "/token":
            return "token"
        if path.endswith(":predictLongRunning"):
            return "create"
        if path.endswith(":fetchPredictOperation"):
            return "fetch"
        if path.startswith("/storage/v1/b/"):
            return "object"
        return "other"

    def check_auth(self, headers: Any, path: str = "") -> Reply | None:
        if path != "/token" and headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": {"code": 401, "message": "Unauthenticated"}})
        return None

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Reply:
        op = self.operation(method, path)
        if op == "token":
            grant = body.decode() if isinstance(body, bytes) else ""
            if "assertion=" not in grant:
                return Reply(400, {"error": "invalid_grant"})
            return Reply(200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})
        resource = path.removeprefix("/v1beta1/").rsplit(":", 1)[0]
        if op == "create":
            if not isinstance(body, dict) or not body.get("instances"):
                return Reply(400, {"error": {"code": 400, "message": "instances is required"}})
            with self.lock:
                name = f"{resource}/operations/{self.new_id('op-')}"
                self.jobs[name] = VeoOperation(
                    name=name,
                    model=resource.rsplit("/", 1)[-1],
                    instance=body["instances"][0],
                    parameters=body.get("parameters") or {},
                    created_at=time.time(),
                    render_seconds=self.render_seconds,
                    outcome=self.outcome,
                )
            return Reply(200, {"name": name})
        if op == "object":
            return self._object(path, query)
        if op == "fetch":
            job = self.jobs.get(str((body or {}).get("operationName")))
            if job is None:
                return Reply(404, {"error": {"code": 404, "message": "Operation not found"}})
            return Reply(200, job.as_json())
        return Reply(404, {"error": {"code": 404, "message": "Not found"}})

    def _object(self, path: str, query: dict[str, list[str]]) -> Reply:
        """An object an operation wrote to its bucket (every one the same real clip, with
        a sound track when the job asked for one), read with ``alt=media``."""
        from urllib.parse import unquote

        bucket, _, name = path.removeprefix("/storage/v1/b/").partition("/o/")
        uri = f"gs://{unquote(bucket)}/{unquote(name)}"
        for job in self.jobs.values():
            videos = job.as_json().get("response", {}).get("videos", [])
            if query.get("alt") == ["media"] and any(v.get("gcsUri") == uri for v in videos):
                audio = bool(job.parameters.get("generateAudio"))
                return Reply(200, raw=sample_mp4(audio), content_type="video/mp4")
        return Reply(404, {"error": {"code": 404, "message": f"No such object: {uri}"}})
