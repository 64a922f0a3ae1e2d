"""What provenance passes around: the error, the SigningIdentity, the Claim, the Credentials.

Also the labels they carry: the IPTC digital source types and our own assertion's label.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ALGORITHMIC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"
# Source types that say "made by a generative model" (the second: AI combined with other media).
AI_SOURCE_TYPES = frozenset(
    {
        DIGITAL_SOURCE_TYPE,
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
    }
)
# Our custom assertion: model, provider, prompt hash (and prompt when opted in), extras.
STUDIO_ASSERTION = "studio.generation"


class ProvenanceError(Exception):
    """Signing is impossible: unusable identity files, unreadable source, c2pa refused.
    The text is a plain message fit for an operator."""


@dataclass(frozen=True)
class SigningIdentity:
    chain_pem: bytes  # signer cert followed by the issuing CA cert(s)
    key_pem: bytes  # PKCS#8
    alg: str  # "es256"
    fingerprint: str  # sha256 hex of the signer certificate (DER), to recognise our own files


@dataclass(frozen=True)
class Claim:
    title: str  # e.g. "Studio video <id>.mp4"
    software: str  # "Studio"
    software_version: str
    provider: str  # e.g. "Offline preview renderer"
    model: str
    prompt_sha256: str
    prompt: str | None = None  # only when the creator opted in
    parent: Path | None = None  # the parent file: the action becomes c2pa.edited
    parent_title: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # put in the studio assertion
    # What made the pixels: a trained model (the default), or ALGORITHMIC_SOURCE_TYPE for
    # a renderer that is no AI model and must not be labelled as one.
    source_type: str = DIGITAL_SOURCE_TYPE
    description: str = ""  # said of the created/edited action, e.g. "remix"


@dataclass(frozen=True)
class Credentials:
    state: str  # "valid" | "invalid" | "none"; an untrusted root is still valid
    ours: bool  # signed by this studio's identity
    signer: str  # human name of the signer (cert subject O, else CN), "" for none
    signed_at: str  # ISO time if known
    title: str
    claim_generator: str  # software agent text
    actions: list[dict[str, str]]
    ai_generated: bool  # a trainedAlgorithmicMedia source type is present
    assertions: dict[str, Any]  # the studio assertion: model, provider, prompt_sha256, ...
    ingredients: list[dict[str, str]]  # title, relationship, format, (hash)
    problems: list[str]  # "code: explanation"; signingCredential.untrusted left out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for storing on the model or answering the API)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        """The inverse of as_dict; unknown keys are ignored, missing ones take empty values."""
        return cls(
            state=str(data.get("state", "none")),
            ours=bool(data.get("ours", False)),
            signer=str(data.get("signer", "")),
            signed_at=str(data.get("signed_at", "")),
            title=str(data.get("title", "")),
            claim_generator=str(data.get("claim_generator", "")),
            actions=[dict(a) for a in data.get("actions", [])],
            ai_generated=bool(data.get("ai_generated", False)),
            assertions=dict(data.get("assertions", {})),
            ingredients=[dict(i) for i in data.get("ingredients", [])],
            problems=[str(p) for p in data.get("problems", [])],
        )


def prompt_hash(prompt: str) -> str:
    """SHA-256 hex of the UTF-8 prompt: what a manifest records unless the creator opts in."""
    return hashlib.sha256(prompt.encode()).hexdigest()
