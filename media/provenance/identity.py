"""Content Credentials (C2PA): the studio's signing identity, signing the files it serves, and
reading any file's credentials back (ours, another signer's, tampered, none) for Verify.

No Django here: the caller passes settings in. Built on c2pa-python 0.38.1 (c2pa-rs 0.91).

What c2pa-python 0.38.1 demands of the signer certificate, tested with EC P-256 chains made
by `cryptography` (see tests/media/test_provenance.py):

- the chain is the signer followed by its issuer(s); a signer with BasicConstraints CA=true
  is refused ("Signature: the certificate is invalid"); a self-signed signer is refused only
  when it lacks an AuthorityKeyIdentifier (with one, 0.38.1 signs and reads it as valid), so
  Studio refuses self-signed operator certificates itself, as the C2PA spec asks;
- the signer needs an ExtendedKeyUsage that c2pa accepts: emailProtection works; no EKU,
  serverAuth only, codeSigning only or anyExtendedKeyUsage are refused at signing, and
  documentSigning or the C2PA OID 1.3.6.1.4.1.62558.2.1 pass the certificate check but fail
  the verification c2pa runs after signing ("certificate missing required EKU");
- the signer needs a KeyUsage extension with digitalSignature (nonRepudiation also passes;
  no KeyUsage, or keyEncipherment only, is refused), and an AuthorityKeyIdentifier;
- SubjectKeyIdentifier and a critical BasicConstraints are not enforced but are good form,
  so the generated signer carries them; the root's pathLen is enforced on the chain;
- `Signer.from_info` only parses the key: every refusal above, and a key that does not match
  the certificate, shows up at the first `Builder.sign`. Operator files are therefore checked
  with `cryptography` for a plain message and then by signing a tiny image once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
# Expected for a root that is in no public trust list; not a problem with the file.
UNTRUSTED = "signingCredential.untrusted"

ROOT_CERT = "root-ca.pem"
ROOT_KEY = "root-ca.key"
SIGNER_CHAIN = "signer-chain.pem"
SIGNER_KEY = "signer.key"
LOCK_FILE = ".lock"
ORGANIZATION = "Studio"
ROOT_DAYS = 365 * 30
SIGNER_DAYS = 365 * 10

# Builder: no thumbnails (time and bytes; Verify shows the file itself). c2pa still verifies
# every file right after signing it, so a manifest that would not validate is never served.
_SIGN_SETTINGS: dict[str, Any] = {"builder": {"thumbnail": {"enabled": False}}}
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


# ---- identity -----------------------------------------------------------------------------


def load_or_create_identity(
    folder: Path, *, cert_path: str = "", key_path: str = ""
) -> SigningIdentity:
    """The operator's chain+key when both paths are given; else the chain generated under
    `folder` on first use (root CA + signer, key files mode 0600, folder 0700), reused
    afterwards. Safe when two processes do their first use at once: an exclusive flock on
    `folder/.lock` around generation, and every file written to a temp name and renamed, the
    chain last, so a reader without the lock sees all files or none. Raises ProvenanceError
    with a plain message for unreadable or unusable operator files or an unwritable folder."""
    if cert_path or key_path:
        if not (cert_path and key_path):
            raise ProvenanceError(
                "Set both the C2PA certificate path and the key path, or neither "
                "(then Studio makes its own)."
            )
        return _operator_identity(Path(cert_path), Path(key_path))
    folder = Path(folder)
    identity = _stored_identity(folder)
    if identity:
        return identity
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(folder / LOCK_FILE):
            identity = _stored_identity(folder)
            if identity:
                return identity
            return _create_identity(folder)
    except OSError as exc:
        raise ProvenanceError(
            f"Cannot write the C2PA signing identity under {folder}: {exc.strerror or exc}"
        ) from exc


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _stored_identity(folder: Path) -> SigningIdentity | None:
    chain_file, key_file = folder / SIGNER_CHAIN, folder / SIGNER_KEY
    if not chain_file.exists():
        return None
    try:
        chain_pem, key_pem = chain_file.read_bytes(), key_file.read_bytes()
    except OSError as exc:
        raise ProvenanceError(
            f"Cannot read the C2PA signing identity in {folder}: {exc.strerror or exc}"
        ) from exc
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ProvenanceError(
            f"The C2PA signing identity in {folder} is damaged ({exc}); move the folder "
            "away to make a new one."
        ) from exc
    return _identity(certs, key)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key: Any) -> bytes:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_chain(
    organization: str = ORGANIZATION, *, now: dt.datetime | None = None
) -> tuple[x509.Certificate, Any, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A fresh root CA and a signer it issued, both EC P-256, with the extensions c2pa wants
    (module docstring). Returns (root, root_key, signer, signer_key)."""
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(hours=1)  # tolerate clocks a little behind ours
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} Content Credentials root"),
        ]
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=ROOT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} Content Credentials"),
        ]
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(signer_name)
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=SIGNER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    return root, root_key, signer, signer_key


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _create_identity(folder: Path) -> SigningIdentity:
    root, root_key, signer, signer_key = make_chain()
    # The root key is kept (0600) so a new signer can be issued under the same root later.
    _write_file(folder / ROOT_KEY, _pkcs8(root_key), 0o600)
    _write_file(folder / ROOT_CERT, _pem(root), 0o644)
    _write_file(folder / SIGNER_KEY, _pkcs8(signer_key), 0o600)
    _write_file(folder / SIGNER_CHAIN, _pem(signer) + _pem(root), 0o644)  # last: the marker
    return _identity([signer, root], signer_key)


def _identity(certs: list[x509.Certificate], key: Any) -> SigningIdentity:
    return SigningIdentity(
        chain_pem=b"".join(_pem(c) for c in certs),
        key_pem=_pkcs8(key),
        alg=_alg(key),
        fingerprint=certs[0].fingerprint(hashes.SHA256()).hex(),
    )


def _alg(key: Any) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
        if alg:
            return alg
        raise ProvenanceError(f"The C2PA key uses the curve {key.curve.name}; use P-256.")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"  # C2PA allows RSA only with PSS padding
    raise ProvenanceError("The C2PA key must be an EC (P-256/384/521), Ed25519 or RSA key.")


def _operator_identity(cert_path: Path, key_path: Path) -> SigningIdentity:
    try:
        chain_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
    except OSError as exc:
        raise ProvenanceError(
            f"Cannot read the C2PA certificate or key file {exc.filename}: {exc.strerror or exc}"
        ) from exc
    return _checked_identity(chain_pem, key_pem, str(cert_path), str(key_path))


@functools.cache
def _checked_identity(
    chain_pem: bytes, key_pem: bytes, cert_name: str, key_name: str
) -> SigningIdentity:
    """Check operator files once per process (per content): cryptography for a plain
    message, then one real c2pa signature of a tiny image, since c2pa is the final judge."""
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise ProvenanceError(f"{cert_name} holds no PEM certificate.") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ProvenanceError(f"{key_name} is not an unencrypted PEM private key ({exc}).") from exc
    leaf = certs[0]
    if leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ProvenanceError(
            f"The key in {key_name} does not belong to the first certificate in {cert_name}."
        )
    _check_leaf(leaf, certs, cert_name)
    identity = _identity(certs, key)
    try:
        _probe_sign(identity)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"c2pa refuses the certificate in {cert_name}: {exc}") from exc
    return identity


def _check_leaf(leaf: x509.Certificate, certs: list[x509.Certificate], name: str) -> None:
    now = dt.datetime.now(dt.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise ProvenanceError(
            f"The certificate in {name} is valid only from {leaf.not_valid_before_utc:%Y-%m-%d} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%d}."
        )
    with contextlib.suppress(x509.ExtensionNotFound):
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ProvenanceError(
                f"The certificate in {name} is a CA certificate; C2PA signs with an "
                "end-entity certificate (BasicConstraints CA=false) issued by a CA."
            )
    if leaf.issuer == leaf.subject or len(certs) < 2:
        raise ProvenanceError(
            f"{name} must hold the signing certificate followed by the CA certificate that "
            "issued it; C2PA refuses a self-signed signing certificate."
        )
    try:
        leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise ProvenanceError(
            f"The certificate in {name} has no Extended Key Usage; C2PA needs one it accepts, "
            "such as emailProtection."
        ) from None
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if not (usage and (usage.digital_signature or usage.content_commitment)):
        raise ProvenanceError(
            f"The certificate in {name} has no Key Usage with digitalSignature, which C2PA "
            "requires."
        )
    try:
        leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        raise ProvenanceError(
            f"The certificate in {name} has no Authority Key Identifier, which C2PA requires."
        ) from None


# The smallest JPEG Pillow writes for 8x8 grey: enough for c2pa to sign and verify.
def _probe_image() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (8, 8), 128).save(out, "JPEG")
    return out.getvalue()


def _probe_sign(identity: SigningIdentity) -> None:
    claim = Claim(
        title="probe.jpg",
        software=ORGANIZATION,
        software_version="probe",
        provider="probe",
        model="probe",
        prompt_sha256=prompt_hash(""),
    )
    with (
        c2pa.Context.from_dict(_SIGN_SETTINGS) as context,
        c2pa.Builder(_manifest(claim, has_parent=False), context=context) as builder,
        _signer(identity) as signer,
    ):
        builder.sign(signer, "image/jpeg", io.BytesIO(_probe_image()), io.BytesIO())


# ---- signing ------------------------------------------------------------------------------


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


# ---- reading ------------------------------------------------------------------------------


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
