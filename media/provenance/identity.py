"""The C2PA signing identity: generated on first use and stored, or the operator's, checked.

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
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from media.provenance.records import Claim, ProvenanceError, SigningIdentity, prompt_hash
from media.provenance.signing import _SIGN_SETTINGS, _manifest, _signer

ROOT_CERT = "root-ca.pem"
ROOT_KEY = "root-ca.key"
SIGNER_CHAIN = "signer-chain.pem"
SIGNER_KEY = "signer.key"
LOCK_FILE = ".lock"
ORGANIZATION = "Studio"
ROOT_DAYS = 365 * 30
SIGNER_DAYS = 365 * 10


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
