"""Signing a file with Content Credentials: the manifest made from a Claim, and `sign_file`."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import c2pa

from media.provenance.records import (
    STUDIO_ASSERTION,
    Claim,
    ProvenanceError,
    SigningIdentity,
    prompt_hash,
)

# Builder: no thumbnails (time and bytes; Verify shows the file itself). c2pa still verifies
# every file right after signing it, so a manifest that would not validate is never served.
_SIGN_SETTINGS: dict[str, Any] = {"builder": {"thumbnail": {"enabled": False}}}


def _signer(identity: SigningIdentity) -> c2pa.Signer:
    info = c2pa.C2paSignerInfo(identity.alg, identity.chain_pem, identity.key_pem, None)
    return c2pa.Signer.from_info(info)


def _manifest(claim: Claim, *, has_parent: bool) -> dict[str, Any]:
    agent = {"name": claim.software, "version": claim.software_version}
    studio: dict[str, Any] = {
        **claim.extra,
        "model": claim.model,
        "provider": claim.provider,
        "prompt_sha256": claim.prompt_sha256,
        # Self-declared (there is no timestamp authority offline): shown as "signed at".
        "signed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if claim.prompt is not None:
        studio["prompt"] = claim.prompt
    generated: dict[str, Any] = {
        "digitalSourceType": claim.source_type,
        "softwareAgent": agent,
    }
    if claim.description:
        generated["description"] = claim.description
    if has_parent:
        # c2pa needs "opened" (or "created") first; "opened" links the parent ingredient.
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.edited", **generated},
        ]
    else:
        actions = [{"action": "c2pa.created", **generated}]
    return {
        "claim_generator_info": [agent],
        "title": claim.title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": STUDIO_ASSERTION, "data": studio},
        ],
    }


def sign_file(
    src: Path, dst: Path, claim: Claim, identity: SigningIdentity, *, mime: str = "video/mp4"
) -> None:
    """Write `dst`: `src` with a C2PA manifest signed by `identity` (c2pa.created, or
    c2pa.opened + c2pa.edited with `claim.parent` as the parentOf ingredient). Written to a
    temp file beside `dst` and renamed (mode 0644), so nothing is left on error; `src` may be
    `dst`. A manifest already in `src` is replaced. Cost: one read of `src` to hash it, one
    write, one re-read (c2pa verifies after signing), plus a read of the parent for edits.
    Raises ProvenanceError when a file cannot be read or c2pa refuses, and ValueError when
    `claim.prompt` does not match `claim.prompt_sha256`."""
    if claim.prompt is not None and prompt_hash(claim.prompt) != claim.prompt_sha256:
        raise ValueError("claim.prompt does not match claim.prompt_sha256")
    src, dst = Path(src), Path(dst)
    manifest = _manifest(claim, has_parent=claim.parent is not None)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=".sign-", suffix=dst.suffix)
    except OSError as exc:
        raise ProvenanceError(f"Cannot write {dst}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "w+b") as out,
            open(src, "rb") as source,
            c2pa.Context.from_dict(_SIGN_SETTINGS) as context,
            c2pa.Builder(manifest, context=context) as builder,
            _signer(identity) as signer,
        ):
            if claim.parent is not None:
                _add_parent(builder, Path(claim.parent), claim.parent_title)
            builder.sign(signer, mime, source, out)
        tmp.chmod(0o644)
        os.replace(tmp, dst)
    except OSError as exc:
        where = Path(exc.filename).name if exc.filename else src.name
        raise ProvenanceError(f"Cannot sign {src.name}: {where}: {exc.strerror or exc}") from exc
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"Cannot sign {src.name}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _add_parent(builder: c2pa.Builder, parent: Path, title: str) -> None:
    with open(parent, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
        stream.seek(0)
        ingredient = {
            "title": title or parent.name,
            "relationship": "parentOf",
            "label": "parent",  # referenced by the c2pa.opened action
            "metadata": {"studio.sha256": digest},
        }
        builder.add_ingredient(ingredient, _sniff_mime(stream) or "video/mp4", stream)


# Enough to name what the studio handles; c2pa sniffs the rest itself.
def _sniff_mime(stream: Any) -> str | None:
    head = stream.read(16)
    stream.seek(0)
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None
