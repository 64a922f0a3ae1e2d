"""Archive import: a real zip with a valid MP4, an MP4 signed with someone else's Content
Credentials (an "OpenAI" signer, as a Sora export has), a truncated MP4, a PNG, a name that
climbs out of the archive and a duplicate: the right rows, the right messages, and nothing
else on disk. Zip bombs and non-zips are refused whole."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from generations.models import Asset
from library.importing import archive_import
from library.models import Entry, Folder, Imported
from media.provenance import Claim, SigningIdentity, make_chain, prompt_hash, sign_file
from tests.generations.test_uploads import mp4_bytes, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_media_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def sora_signed_mp4(tmp_path: Path) -> bytes:
    """An MP4 with a C2PA manifest signed by an "OpenAI" certificate, made by "Sora"."""
    _, _, signer, key = make_chain("OpenAI")
    root, _, _, _ = make_chain("OpenAI")
    chain = signer.public_bytes(serialization.Encoding.PEM)
    identity = SigningIdentity(
        chain_pem=chain,
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        alg="es256",
        fingerprint=signer.fingerprint(hashes.SHA256()).hex(),
    )
    src, dst = tmp_path / "plain.mp4", tmp_path / "signed.mp4"
    src.write_bytes(mp4_bytes(frames=8, size=(48, 64)))
    claim = Claim(
        title="sora-video.mp4",
        software="Sora",
        software_version="2",
        provider="OpenAI",
        model="sora-2",
        prompt_sha256=prompt_hash("a corgi surfing"),
    )
    sign_file(src, dst, claim, identity)
    del root
    return dst.read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def export_zip(tmp_path) -> Path:
    valid = mp4_bytes()
    members = {
        "sora/valid.mp4": valid,
        "sora/made-with-sora.mp4": sora_signed_mp4(tmp_path),
        "sora/truncated.mp4": valid[: len(valid) // 2],
        "sora/still.png": png_bytes((40, 30)),
        "../../evil.mp4": valid[::-1] + b"x",
        "sora/copy-of-valid.mp4": valid,
        "__MACOSX/._valid.mp4": b"resource fork",
    }
    path = tmp_path / "export.zip"
    path.write_bytes(_zip(members))
    return path


def test_an_export_imports_the_good_files_and_reports_the_rest_by_name(
    user, export_zip, settings, tmp_path
):
    report = archive_import(owner=user, source=export_zip)

    assert sorted(report.imported) == [
        "sora/made-with-sora.mp4",
        "sora/still.png",
        "sora/valid.mp4",
    ]
    assert report.duplicates == ["sora/copy-of-valid.mp4"]
    refused = dict(report.refused)
    assert set(refused) == {"sora/truncated.mp4", "../../evil.mp4"}
    assert "Unsafe name" in refused["../../evil.mp4"]
    assert (
        "truncated" in refused["sora/truncated.mp4"]
        or "incomplete" in refused["sora/truncated.mp4"]
    )
    assert report.summary() == "3 imported, 1 already in your library, 2 refused."

    imported = {i.path_in_archive: i for i in Imported.objects.select_related("asset")}
    assert set(imported) == set(report.imported)
    sora = imported["sora/made-with-sora.mp4"]
    assert sora.made_with == "OpenAI Sora"
    assert sora.label == "Imported: made with OpenAI Sora"
    assert (
        sora.credentials["state"] in ("valid", "invalid") and sora.credentials["signer"] == "OpenAI"
    )
    assert imported["sora/valid.mp4"].label == "Imported: no credentials"
    assert imported["sora/still.png"].asset.kind == Asset.Kind.IMAGE
    assert imported["sora/valid.mp4"].asset.kind == Asset.Kind.VIDEO
    folder = Folder.objects.get(owner=user, name="Imported")
    assert Entry.objects.filter(folder=folder).count() == 3

    # Only the three imports' originals and thumbnails are stored: nothing of the rest.
    stored = _files(settings)
    expected = sorted(Path(f.path) for a in Asset.objects.all() for f in (a.file, a.thumbnail))
    assert stored == expected and len(stored) == 6
    assert not list(tmp_path.parent.rglob("evil.mp4"))


def test_importing_the_same_export_again_imports_nothing(user, export_zip):
    archive_import(owner=user, source=export_zip)
    again = archive_import(owner=user, source=export_zip)
    assert again.imported == []
    assert len(again.duplicates) == 4
    assert Asset.objects.count() == 3


def test_a_zip_bomb_is_refused_whole_before_anything_is_stored(user, tmp_path, settings):
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zip({"fine.png": png_bytes(), "huge.mp4": b"\0" * (20 * 1024 * 1024)}))
    with pytest.raises(ValidationError) as exc:
        archive_import(owner=user, source=path)
    assert "zip bomb" in exc.value.messages[0]
    settings.STUDIO_ARCHIVE_MAX_BYTES = 1000
    small = tmp_path / "big.zip"
    small.write_bytes(_zip({"a.png": os.urandom(5000)}))
    with pytest.raises(ValidationError, match="unpacks to more than"):
        archive_import(owner=user, source=small)
    assert not Asset.objects.exists() and not Folder.objects.exists()
    assert _files(settings) == []


def test_a_file_that_is_no_zip_is_refused(user, tmp_path):
    path = tmp_path / "not.zip"
    path.write_bytes(png_bytes())
    with pytest.raises(ValidationError, match="not a zip"):
        archive_import(owner=user, source=path)


def test_the_web_import_says_what_happened_to_each_file(owner_client, user, export_zip):
    with export_zip.open("rb") as f:
        response = owner_client.post(reverse("library_import"), {"archive": f}, follow=True)
    html = response.content.decode()
    assert "Import of export.zip: 3 imported, 1 already in your library, 2 refused." in html
    assert "../../evil.mp4: Unsafe name" in html
    assert "sora/copy-of-valid.mp4: already in your library" in html
    assert "Imported: made with OpenAI Sora" in html  # lands on the Imported folder


def test_the_command_imports_a_folder(user, tmp_path, capsys):
    folder = tmp_path / "export"
    (folder / "clips").mkdir(parents=True)
    (folder / "clips" / "one.mp4").write_bytes(mp4_bytes())
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    call_command("import_archive", "--user", user.username, str(folder))
    out, err = capsys.readouterr()
    assert "imported  clips/one.mp4" in out
    assert "refused   broken.png" in err
    assert "1 imported, 1 refused." in out
    assert Imported.objects.get().archive_name == "export"
