"""Reading any file's Content Credentials back and validating them (`read_credentials`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509

from media.provenance.identity import _pem
from media.provenance.records import AI_SOURCE_TYPES, STUDIO_ASSERTION, Credentials, SigningIdentity
from media.provenance.signing import _sniff_mime

# Expected for a root that is in no public trust list; not a problem with the file.
UNTRUSTED = "signingCredential.untrusted"
# Reader: never fetch a remote manifest named by an uploaded file (no outbound requests).
_READ_SETTINGS: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}

_NO_MANIFEST_ERRORS = (c2pa.C2paError.ManifestNotFound,)
# The file is not something c2pa can parse: no credentials, said plainly.
_UNREADABLE_ERRORS = (
    c2pa.C2paError.NotSupported,
    c2pa.C2paError.Io,
    c2pa.C2paError.FileNotFound,
    c2pa.C2paError.Other,
)


def _none(*problems: str) -> Credentials:
    return Credentials(
        state="none",
        ours=False,
        signer="",
        signed_at="",
        title="",
        claim_generator="",
        actions=[],
        ai_generated=False,
        assertions={},
        ingredients=[],
        problems=list(problems),
    )


def read_credentials(
    path: Path, *, identity: SigningIdentity | None = None, mime: str | None = None
) -> Credentials:
    """Read and validate any file c2pa supports (MP4/MOV, JPEG, PNG, WebP, ...). A file
    without a manifest gives state="none" with no problem; a file c2pa cannot parse (an
    unsupported or garbage type) or cannot open gives state="none" with a problem; never an
    exception. A manifest that is there but broken or does not match the bytes gives
    state="invalid". `ours` means c2pa found the signer chains to a CA certificate in
    `identity`'s chain (given to c2pa as trust anchors; only that CA's key holder can issue
    under it) and the signer's serial number is `identity`'s: together, our certificate. `mime` is
    sniffed from the content when not given. Never fetches anything over the network."""
    settings: dict[str, Any] = dict(_READ_SETTINGS)
    our_serial: int | None = None
    if identity is not None:
        certs = x509.load_pem_x509_certificates(identity.chain_pem)
        # Every issuer in our chain is an anchor: an operator's chain may stop at an
        # intermediate, and a root's path length may not admit the intermediates below it.
        anchors = certs[1:] or certs
        settings["trust"] = {"user_anchors": b"".join(_pem(c) for c in anchors).decode()}
        our_serial = certs[0].serial_number
    try:
        with open(path, "rb") as stream:
            mime = mime or _sniff_mime(stream)
            with (
                c2pa.Context.from_dict(settings) as context,
                c2pa.Reader(mime, stream, context=context) as reader,  # None: c2pa sniffs
            ):
                store = json.loads(reader.json())
    except OSError as exc:
        return _none(f"The file cannot be read: {exc.strerror or exc}")
    except _NO_MANIFEST_ERRORS:
        return _none()
    except _UNREADABLE_ERRORS as exc:
        return _none(f"Not a file that can carry Content Credentials ({exc})")
    except c2pa.C2paError as exc:
        return _broken(str(exc))
    return _credentials(store, our_serial)


def _broken(error: str) -> Credentials:
    """A manifest is present but c2pa cannot decode or check it: tampered or corrupt."""
    return Credentials(**{**_none().as_dict(), "state": "invalid", "problems": [error]})


def _credentials(store: dict[str, Any], our_serial: int | None) -> Credentials:
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    state_name = str(store.get("validation_state", "")).lower()
    problems = [
        f"{s.get('code', '')}: {s.get('explanation', '')}".rstrip(": ")
        for s in store.get("validation_status", [])
        if s.get("code") != UNTRUSTED
    ]
    valid = state_name in ("valid", "trusted") and not problems
    signature = manifest.get("signature_info", {})
    actions = _actions(manifest)
    studio = _assertion(manifest, STUDIO_ASSERTION)
    serial = str(signature.get("cert_serial_number", ""))
    ours = (
        our_serial is not None
        and valid
        and state_name == "trusted"
        and serial.isdigit()
        and int(serial) == our_serial
    )
    return Credentials(
        state="valid" if valid else "invalid",
        ours=ours,
        signer=str(signature.get("issuer") or signature.get("common_name") or ""),
        signed_at=str(signature.get("time") or studio.get("signed_at") or ""),
        title=str(manifest.get("title", "")),
        claim_generator=_generator(manifest),
        actions=actions,
        ai_generated=any(a.get("digitalSourceType") in AI_SOURCE_TYPES for a in actions),
        assertions=studio,
        ingredients=[_ingredient(i) for i in manifest.get("ingredients", [])],
        problems=problems
        or ([] if valid else [f"Validation state: {store.get('validation_state')}"]),
    )


def _agent_text(agent: Any) -> str:
    if isinstance(agent, dict):
        return " ".join(str(agent[k]) for k in ("name", "version") if agent.get(k))
    return str(agent or "")


def _generator(manifest: dict[str, Any]) -> str:
    info = manifest.get("claim_generator_info") or []
    if info:
        return _agent_text(info[0])
    return str(manifest.get("claim_generator", ""))


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any]:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == label and isinstance(assertion.get("data"), dict):
            return dict(assertion["data"])
    return {}


def _actions(manifest: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).split(".v")[0] != "c2pa.actions":
            continue
        for action in (assertion.get("data") or {}).get("actions", []):
            item = {"action": str(action.get("action", ""))}
            if action.get("digitalSourceType"):
                item["digitalSourceType"] = str(action["digitalSourceType"])
            if action.get("softwareAgent"):
                item["softwareAgent"] = _agent_text(action["softwareAgent"])
            if action.get("description"):
                item["description"] = str(action["description"])
            description = (action.get("parameters") or {}).get("description")
            if description:
                item["description"] = str(description)
            found.append(item)
    return found


def _ingredient(ingredient: dict[str, Any]) -> dict[str, str]:
    item = {
        "title": str(ingredient.get("title", "")),
        "relationship": str(ingredient.get("relationship", "")),
        "format": str(ingredient.get("format", "")),
    }
    digest = (ingredient.get("metadata") or {}).get("studio.sha256")
    if digest:
        item["hash"] = str(digest)
    return item
