"""Content Credentials: identities made and reused, files signed and read back with c2pa's own
Reader, tampering caught, other signers and unsigned files told apart."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from media.provenance import (
    ALGORITHMIC_SOURCE_TYPE,
    DIGITAL_SOURCE_TYPE,
    ROOT_KEY,
    SIGNER_CHAIN,
    SIGNER_KEY,
    Claim,
    Credentials,
    ProvenanceError,
    SigningIdentity,
    load_or_create_identity,
    make_chain,
    prompt_hash,
    read_credentials,
    sign_file,
)
from media.render import render_title_card

PROMPT = "a red kite over green hills"
DIGITAL_SIGNATURE_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def claim(**changes: object) -> Claim:
    fields: dict[str, object] = {
        "title": "Studio video v1.mp4",
        "software": "Studio",
        "software_version": "0.1.0",
        "provider": "Offline preview renderer",
        "model": "title-card",
        "prompt_sha256": prompt_hash(PROMPT),
        "extra": {"studio.video_id": "v1"},
    }
    return Claim(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real MP4 from the preview renderer, rendered once for the module."""
    out = tmp_path_factory.mktemp("clip") / "card.mp4"
    render_title_card(
        out_path=out, prompt=PROMPT, width=160, height=90, seconds=0.5, fps=12, seed=1
    )
    return out


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return load_or_create_identity(tmp_path_factory.mktemp("credentials"))


@pytest.fixture
def signed(clip: Path, identity: SigningIdentity, tmp_path: Path) -> Path:
    out = tmp_path / "signed.mp4"
    sign_file(clip, out, claim(), identity)
    return out


def mdat_payload(data: bytes) -> tuple[int, int]:
    """(start, end) of the first top-level mdat box's payload."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
        elif size == 0:
            size = len(data) - offset
        if kind == b"mdat":
            return offset + header, offset + size
        offset += size
    raise AssertionError("no mdat box")


def write_chain(
    folder: Path,
    *,
    organization: str = "Acme Newsroom",
    eku: bool = True,
    key_usage: bool = True,
    aki: bool = True,
    signer_is_ca: bool = False,
    self_signed: bool = False,
) -> tuple[Path, Path]:
    """Operator-style files (chain PEM, PKCS#8 key PEM), optionally with one thing wrong
    with the signer certificate."""
    root, root_key, signer, signer_key = make_chain(organization)
    if not (eku and key_usage and aki) or signer_is_ca or self_signed:
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else root.subject)
            .public_key(signer_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=signer_is_ca, path_length=None), True)
        )
        if aki:
            issuer_key = signer_key if self_signed else root_key
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
            )
        if eku:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False
            )
        if key_usage:
            builder = builder.add_extension(DIGITAL_SIGNATURE_ONLY, True)
        signer = builder.sign(signer_key if self_signed else root_key, hashes.SHA256())
    folder.mkdir(parents=True, exist_ok=True)
    chain = signer.public_bytes(serialization.Encoding.PEM)
    if not self_signed:
        chain += root.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = folder / "chain.pem", folder / "key.pem"
    cert_path.write_bytes(chain)
    key_path.write_bytes(
        signer_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def unchecked_identity(cert_path: Path, key_path: Path) -> SigningIdentity:
    """An identity straight from files, skipping load_or_create_identity's checks, to see
    what c2pa itself does with it."""
    certs = x509.load_pem_x509_certificates(cert_path.read_bytes())
    return SigningIdentity(
        chain_pem=cert_path.read_bytes(),
        key_pem=key_path.read_bytes(),
        alg="es256",
        fingerprint=certs[0].fingerprint(hashes.SHA256()).hex(),
    )


# ---- identity -----------------------------------------------------------------------------


def test_identity_is_generated_once_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    first = load_or_create_identity(folder)
    second = load_or_create_identity(folder)
    assert first == second
    assert first.alg == "es256"
    certs = x509.load_pem_x509_certificates(first.chain_pem)
    assert len(certs) == 2
    assert first.fingerprint == certs[0].fingerprint(hashes.SHA256()).hex()
    assert b"BEGIN PRIVATE KEY" in first.key_pem  # PKCS#8
    leaf = certs[0].extensions
    assert leaf.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert (
        ExtendedKeyUsageOID.EMAIL_PROTECTION
        in leaf.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert certs[1].extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_identity_key_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    load_or_create_identity(folder)
    assert (folder / SIGNER_KEY).stat().st_mode & 0o777 == 0o600
    assert (folder / ROOT_KEY).stat().st_mode & 0o777 == 0o600
    assert (folder / SIGNER_CHAIN).stat().st_mode & 0o777 == 0o644
    assert folder.stat().st_mode & 0o777 == 0o700
    assert not [p for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"]


def _first_use(folder: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    out.put(load_or_create_identity(Path(folder)).fingerprint)


def test_concurrent_first_use_from_two_processes_gives_one_identity(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    workers = [
        spawn.Process(target=_first_use, args=(str(folder), barrier, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    fingerprints = {results.get(timeout=60), results.get(timeout=60)}
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert fingerprints == {load_or_create_identity(folder).fingerprint}


def test_operator_certificate_and_key_are_used(
    tmp_path: Path, clip: Path, identity: SigningIdentity
) -> None:
    cert_path, key_path = write_chain(tmp_path / "operator")
    folder = tmp_path / "unused"
    operator = load_or_create_identity(folder, cert_path=str(cert_path), key_path=str(key_path))
    leaf = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    assert operator.fingerprint == leaf.fingerprint(hashes.SHA256()).hex()
    assert operator.fingerprint != identity.fingerprint
    assert not folder.exists()
    sign_file(clip, tmp_path / "out.mp4", claim(), operator)
    found = read_credentials(tmp_path / "out.mp4", identity=operator)
    assert (found.state, found.ours, found.signer) == ("valid", True, "Acme Newsroom")


def ca_certificate(
    name: str, key: Any, issuer: x509.Certificate | None, issuer_key: Any
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.mark.parametrize("with_root", [True, False])
def test_operator_chain_through_an_intermediate_is_ours(
    tmp_path: Path, clip: Path, with_root: bool
) -> None:
    root_key, ica_key, signer_key = (ec.generate_private_key(ec.SECP256R1()) for _ in "abc")
    root = ca_certificate("Acme Root", root_key, None, root_key)
    ica = ca_certificate("Acme Issuing CA", ica_key, root, root_key)
    now = dt.datetime.now(dt.UTC)
    signer = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Acme signer")]))
        .issuer_name(ica.subject)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(DIGITAL_SIGNATURE_ONLY, True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ica_key.public_key()), False
        )
        .sign(ica_key, hashes.SHA256())
    )
    chain = [signer, ica, root] if with_root else [signer, ica]
    cert_path, key_path = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    key_path.write_bytes(
        signer_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    operator = load_or_create_identity(tmp_path, cert_path=str(cert_path), key_path=str(key_path))
    sign_file(clip, tmp_path / "out.mp4", claim(), operator)
    found = read_credentials(tmp_path / "out.mp4", identity=operator)
    assert (found.state, found.ours, found.signer) == ("valid", True, "Acme signer")


@pytest.mark.parametrize(
    ("files", "message", "c2pa_refuses"),
    [
        ({"eku": False}, "no Extended Key Usage", True),
        ({"key_usage": False}, "no Key Usage", True),
        ({"aki": False}, "no Authority Key Identifier", True),
        ({"signer_is_ca": True}, "is a CA certificate", True),
        # c2pa-python 0.38.1 signs with a self-signed end-entity certificate that has an AKI
        # (without one it is refused like any other); we refuse it, as the C2PA spec does.
        ({"self_signed": True}, "self-signed", False),
    ],
)
def test_operator_certificate_without_what_c2pa_needs_is_refused_plainly(
    tmp_path: Path, clip: Path, files: dict[str, bool], message: str, c2pa_refuses: bool
) -> None:
    cert_path, key_path = write_chain(tmp_path / "operator", **files)
    with pytest.raises(ProvenanceError, match=message):
        load_or_create_identity(tmp_path, cert_path=str(cert_path), key_path=str(key_path))
    unchecked = unchecked_identity(cert_path, key_path)
    out = tmp_path / "out.mp4"
    if c2pa_refuses:  # c2pa itself, when the checks above are skipped
        with pytest.raises(ProvenanceError, match="certificate is invalid"):
            sign_file(clip, out, claim(), unchecked)
        assert not out.exists()
    else:
        sign_file(clip, out, claim(), unchecked)
        assert read_credentials(out).state == "valid"


def test_unreadable_or_mismatched_operator_files_are_refused_plainly(tmp_path: Path) -> None:
    cert_path, key_path = write_chain(tmp_path / "a")
    _, other_key = write_chain(tmp_path / "b")
    with pytest.raises(ProvenanceError, match="both"):
        load_or_create_identity(tmp_path, cert_path=str(cert_path))
    with pytest.raises(ProvenanceError, match="Cannot read"):
        load_or_create_identity(
            tmp_path, cert_path=str(tmp_path / "missing.pem"), key_path=str(key_path)
        )
    with pytest.raises(ProvenanceError, match="does not belong"):
        load_or_create_identity(tmp_path, cert_path=str(cert_path), key_path=str(other_key))
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    with pytest.raises(ProvenanceError, match="no PEM certificate"):
        load_or_create_identity(tmp_path, cert_path=str(garbage), key_path=str(key_path))
    with pytest.raises(ProvenanceError, match="not an unencrypted PEM private key"):
        load_or_create_identity(tmp_path, cert_path=str(cert_path), key_path=str(garbage))


# ---- signing and reading ------------------------------------------------------------------


def test_signed_video_reads_back_valid_ours_and_ai_generated(
    signed: Path, identity: SigningIdentity
) -> None:
    found = read_credentials(signed, identity=identity)
    assert found.state == "valid"
    assert found.ours
    assert found.problems == []
    assert found.ai_generated
    assert found.signer == "Studio"
    assert found.title == "Studio video v1.mp4"
    assert found.claim_generator == "Studio 0.1.0"
    assert found.signed_at
    assert found.actions == [
        {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_SOURCE_TYPE,
            "softwareAgent": "Studio 0.1.0",
        }
    ]
    assert found.assertions["model"] == "title-card"
    assert found.assertions["provider"] == "Offline preview renderer"
    assert found.assertions["studio.video_id"] == "v1"
    assert found.ingredients == []


def test_prompt_is_only_hashed_unless_the_creator_opts_in(
    clip: Path, signed: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    hidden = read_credentials(signed, identity=identity)
    assert hidden.assertions["prompt_sha256"] == prompt_hash(PROMPT)
    assert "prompt" not in hidden.assertions
    assert PROMPT.encode() not in signed.read_bytes()

    shared = tmp_path / "shared.mp4"
    sign_file(clip, shared, claim(prompt=PROMPT), identity)
    found = read_credentials(shared, identity=identity)
    assert found.assertions["prompt"] == PROMPT
    assert found.assertions["prompt_sha256"] == prompt_hash(PROMPT)


def test_prompt_that_does_not_match_its_hash_is_refused(
    clip: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="prompt"):
        sign_file(clip, tmp_path / "out.mp4", claim(prompt="something else"), identity)
    assert list(tmp_path.iterdir()) == []


def test_edit_records_c2pa_edited_with_the_parent_as_ingredient(
    clip: Path, signed: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    child = tmp_path / "remix.mp4"
    edit = claim(title="Studio video v2.mp4", parent=signed, parent_title="Studio video v1.mp4")
    sign_file(clip, child, edit, identity)
    found = read_credentials(child, identity=identity)
    assert (found.state, found.ours, found.ai_generated) == ("valid", True, True)
    assert [a["action"] for a in found.actions] == ["c2pa.opened", "c2pa.edited"]
    assert found.actions[1]["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert found.ingredients == [
        {
            "title": "Studio video v1.mp4",
            "relationship": "parentOf",
            "format": "video/mp4",
            "hash": hashlib.sha256(signed.read_bytes()).hexdigest(),
        }
    ]


def test_one_flipped_byte_in_the_media_data_makes_it_invalid(
    signed: Path, identity: SigningIdentity
) -> None:
    data = bytearray(signed.read_bytes())
    start, end = mdat_payload(bytes(data))
    data[(start + end) // 2] ^= 0x01
    signed.write_bytes(bytes(data))
    found = read_credentials(signed, identity=identity)
    assert found.state == "invalid"
    assert not found.ours
    assert any("assertion.bmffHash.mismatch" in p for p in found.problems)


def test_a_damaged_manifest_is_invalid_not_an_exception(
    signed: Path, identity: SigningIdentity
) -> None:
    data = bytearray(signed.read_bytes())
    at = data.index(b"c2pa.actions") + 40
    data[at] ^= 0xFF
    signed.write_bytes(bytes(data))
    found = read_credentials(signed, identity=identity)
    assert found.state == "invalid"
    assert found.problems


def test_another_signers_file_is_valid_but_not_ours(
    clip: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    other = load_or_create_identity(tmp_path / "other-studio")
    out = tmp_path / "theirs.mp4"
    sign_file(clip, out, claim(), other)
    found = read_credentials(out, identity=identity)
    assert (found.state, found.ours, found.problems) == ("valid", False, [])
    assert read_credentials(out, identity=other).ours


def test_without_an_identity_nothing_is_ours(signed: Path) -> None:
    found = read_credentials(signed)
    assert (found.state, found.ours) == ("valid", False)


def test_unsigned_and_garbage_files_have_no_credentials(clip: Path, tmp_path: Path) -> None:
    unsigned = read_credentials(clip)
    assert (unsigned.state, unsigned.problems) == ("none", [])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00garbage" * 100)
    assert read_credentials(garbage).state == "none"
    assert read_credentials(garbage, mime="video/mp4").state == "none"
    missing = read_credentials(tmp_path / "missing.mp4")
    assert missing.state == "none"
    assert missing.problems


@pytest.mark.parametrize(
    ("name", "fmt", "mime"),
    [("photo.jpg", "JPEG", "image/jpeg"), ("still.png", "PNG", "image/png")],
)
def test_images_are_signed_and_read(
    make_image: Callable[..., Path],
    identity: SigningIdentity,
    tmp_path: Path,
    name: str,
    fmt: str,
    mime: str,
) -> None:
    image = make_image(name, fmt)
    assert read_credentials(image).state == "none"
    out = tmp_path / f"signed-{name}"
    sign_file(image, out, claim(title=name), identity, mime=mime)
    found = read_credentials(out, identity=identity)
    assert (found.state, found.ours, found.ai_generated, found.title) == (
        "valid",
        True,
        True,
        name,
    )


def test_signing_in_place_replaces_the_file_and_leaves_no_temp_files(
    clip: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    video = tmp_path / "video.mp4"
    shutil.copy(clip, video)
    sign_file(video, video, claim(), identity)
    sign_file(video, video, claim(title="again"), identity)
    found = read_credentials(video, identity=identity)
    assert (found.state, found.ours, found.title) == ("valid", True, "again")
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]
    assert video.stat().st_mode & 0o777 == 0o644


def test_failed_signing_leaves_nothing(clip: Path, tmp_path: Path) -> None:
    root, root_key, signer, _ = make_chain()
    stranger = ec.generate_private_key(ec.SECP256R1())
    wrong_key = SigningIdentity(
        chain_pem=signer.public_bytes(serialization.Encoding.PEM)
        + root.public_bytes(serialization.Encoding.PEM),
        key_pem=stranger.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        alg="es256",
        fingerprint="",
    )
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ProvenanceError):
        sign_file(clip, out_dir / "video.mp4", claim(), wrong_key)
    with pytest.raises(ProvenanceError, match="Cannot sign"):
        sign_file(tmp_path / "missing.mp4", out_dir / "video.mp4", claim(), wrong_key)
    assert list(out_dir.iterdir()) == []


def test_credentials_survive_a_round_trip_through_a_dict(
    signed: Path, identity: SigningIdentity
) -> None:
    found = read_credentials(signed, identity=identity)
    assert Credentials.from_dict(found.as_dict()) == found


def test_a_renderer_that_is_no_ai_model_is_not_labelled_ai_made(
    clip: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    out = tmp_path / "card.mp4"
    sign_file(clip, out, claim(source_type=ALGORITHMIC_SOURCE_TYPE), identity)
    credentials = read_credentials(out, identity=identity)
    assert credentials.state == "valid"
    assert not credentials.ai_generated
    assert credentials.actions[0]["digitalSourceType"] == ALGORITHMIC_SOURCE_TYPE


def test_an_edit_says_which_edit_it_was(
    clip: Path, signed: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    out = tmp_path / "remix.mp4"
    sign_file(clip, out, claim(parent=signed, parent_title="parent", description="Remix"), identity)
    actions = read_credentials(out, identity=identity).actions
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.edited"]
    assert actions[1].get("description") == "Remix"
