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
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from generations import services as generation_services
from generations.models import Asset, Generation, Lineage
from generations.spec import GenerationSpec
from library.importing import archive_import, archive_import_run
from library.models import ArchiveImport, Entry, Folder, Imported
from media.provenance import Claim, SigningIdentity, make_chain, prompt_hash, sign_file
from tests.generations.test_uploads import mp4_bytes, png_bytes
from tests.pipeline import run_inline

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


def test_the_web_import_stores_the_zip_for_a_worker_which_reports_each_file(
    owner_client, user, other_user, export_zip, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as sent, export_zip.open("rb") as f:
        response = owner_client.post(reverse("library_import"), {"archive": f}, follow=True)
    job = ArchiveImport.objects.get()
    assert len(sent) == 1  # library.tasks.import_archive, by name, on commit
    assert job.state == ArchiveImport.State.QUEUED and job.archive_name == "export.zip"
    assert Path(job.archive.path).read_bytes() == export_zip.read_bytes()
    assert not Asset.objects.exists()  # nothing imported inside the request
    html = response.content.decode()
    assert "export.zip is being imported." in html and "waiting for a worker" in html
    status = reverse("library_import_status", args=[job.pk])
    assert f'hx-get="{status}"' in html

    archive_import_run(str(job.pk))  # what the task does

    job.refresh_from_db()
    assert job.state == ArchiveImport.State.DONE
    assert (job.done_files, job.total_files) == (6, 6)
    assert job.summary == "3 imported, 1 already in your library, 2 refused."
    assert not job.archive and not list(Path(settings.MEDIA_ROOT).rglob("archive.zip"))
    stored = _files(settings)
    assert len(stored) == 6 and Asset.objects.count() == 3
    html = owner_client.get(status).content.decode()
    assert "hx-get" not in html  # done: no more polling
    assert "3 imported, 1 already in your library, 2 refused." in html
    assert "../../evil.mp4: Unsafe name" in html
    assert "sora/copy-of-valid.mp4: already in your library (same SHA-256), skipped." in html
    page = owner_client.get(reverse("library_uploads")).content.decode()
    assert "3 imported, 1 already in your library, 2 refused." in page
    imported = owner_client.get(
        reverse("library_uploads"), {"folder": Folder.objects.get(name="Imported").pk}
    ).content.decode()
    assert "Imported: made with OpenAI Sora" in imported
    owner_client.force_login(other_user)
    assert owner_client.get(status).status_code == 404


def test_an_import_interrupted_half_way_continues_from_its_report(user, export_zip):
    job = ArchiveImport.objects.create(owner=user, archive_name="export.zip")
    with export_zip.open("rb") as f:
        job.archive.save("archive.zip", File(f))
    # A worker got through two files, then died; the message is delivered again.
    first = archive_import(owner=user, source=export_zip)
    Asset.objects.exclude(imported__path_in_archive="sora/valid.mp4").delete()
    job.report = {"imported": ["sora/valid.mp4"], "duplicates": [], "refused": []}
    job.state = ArchiveImport.State.RUNNING
    job.save()
    assert len(first.imported) == 3 and Asset.objects.count() == 1

    archive_import_run(str(job.pk))

    job.refresh_from_db()
    assert job.state == ArchiveImport.State.DONE
    assert sorted(job.report["imported"]) == sorted(first.imported)
    # Not looked at again, so not reported as a duplicate of itself.
    assert job.report["duplicates"] == ["sora/copy-of-valid.mp4"]
    assert Asset.objects.count() == 3
    assert archive_import_run(str(job.pk)).report == job.report  # a third delivery: no-op


def test_a_web_import_of_a_zip_bomb_is_refused_whole_and_leaves_nothing(
    owner_client, user, tmp_path, settings
):
    bomb = _zip({"fine.png": png_bytes(), "huge.mp4": b"\0" * (20 * 1024 * 1024)})
    owner_client.post(reverse("library_import"), {"archive": SimpleUploadedFile("bomb.zip", bomb)})
    job = ArchiveImport.objects.get()
    archive_import_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == ArchiveImport.State.FAILED and "zip bomb" in job.error
    assert not Asset.objects.exists() and not Folder.objects.exists()
    assert _files(settings) == []
    html = owner_client.get(reverse("library_uploads")).content.decode()
    assert "huge.mp4 unpacks to 20 MB" in html and "The archive was refused." in html


def test_an_archive_over_the_limit_is_refused_before_it_is_stored(owner_client, settings):
    settings.STUDIO_ARCHIVE_MAX_BYTES = 1000
    response = owner_client.post(
        reverse("library_import"),
        {"archive": SimpleUploadedFile("big.zip", os.urandom(5000))},
        follow=True,
    )
    assert "Archives of up to 0 MB can be imported." in response.content.decode()
    assert not ArchiveImport.objects.exists() and _files(settings) == []


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


def test_an_imported_video_is_the_parent_of_an_edit_with_lineage_and_c2pa_ingredient(
    owner_client, user, other_user, export_zip, tmp_path
):
    archive_import(owner=user, source=export_zip)
    sora = Asset.objects.get(imported__path_in_archive="sora/made-with-sora.mp4")
    # The composer, opened from the import, makes it the parent and the reference.
    page = owner_client.get(reverse("dashboard"), {"from_asset": sora.pk}).content.decode()
    assert f'name="parent_asset" value="{sora.pk}"' in page
    assert "Made from made-with-sora.mp4" in page
    assert f'<option value="{sora.pk}" selected>' in page
    assert '<option value="9:16" selected>' in page  # 48×64 is nearest 9:16
    assert 'name="seconds" value="1"' in page  # its length (8 frames at 12 fps), rounded
    response = owner_client.post(
        reverse("generate"),
        {
            "prompt": "the corgi, surfing at sunset",
            "resolution": "480p",
            "aspect_ratio": "9:16",
            "seconds": 1,
            "variations": 1,
            "provider": "offline",
            "reference": sora.pk,
            "parent_asset": sora.pk,
        },
    )
    assert response.status_code == 302
    child = Generation.objects.get(prompt="the corgi, surfing at sunset")
    assert child.parent_asset == sora and child.parent_id is None
    row = Lineage.objects.get(child=child)
    assert (row.parent_asset, row.parent_generation, row.parent_video) == (sora, None, None)

    finished = run_inline(child)
    served = finished.videos.get().credentials["delivery"]
    assert [a["action"] for a in served["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert served["ingredients"] == [
        {
            "title": "made-with-sora.mp4",
            "relationship": "parentOf",
            "format": "video/mp4",
            "hash": sora.sha256,
        }
    ]
    detail = owner_client.get(reverse("generation_detail", args=[child.pk])).content.decode()
    assert "Made from" in detail and "made-with-sora.mp4" in detail
    assert "Imported: made with OpenAI Sora" in detail
    tree = owner_client.get(reverse("library_tree", args=[child.pk])).content.decode()
    assert "It starts from made-with-sora.mp4 (Imported: made with OpenAI Sora)." in tree
    uploads = owner_client.get(reverse("library_uploads")).content.decode()
    edit_link = reverse("dashboard") + f"?from_asset={sora.pk}"
    assert f'<a href="{edit_link}">Make a video from it</a>' in uploads
    assert "Used in" in uploads and "the corgi, surfing at sunset" in uploads

    # Another creator can neither open the composer on it nor name it as a parent.
    owner_client.force_login(other_user)
    assert owner_client.get(reverse("dashboard"), {"from_asset": sora.pk}).status_code == 404
    response = owner_client.post(
        reverse("generate"),
        {
            "prompt": "stolen",
            "resolution": "480p",
            "aspect_ratio": "9:16",
            "seconds": 1,
            "variations": 1,
            "provider": "offline",
            "parent_asset": sora.pk,
        },
    )
    assert response.status_code == 404
    assert not Generation.objects.filter(prompt="stolen").exists()


def test_an_edit_of_someone_elses_upload_is_refused_by_the_spec(user, other_user, export_zip):
    archive_import(owner=user, source=export_zip)
    theirs = Asset.objects.filter(owner=user).first()
    with pytest.raises(ValidationError) as exc:
        generation_services.generation_create(
            owner=other_user,
            spec=GenerationSpec(prompt="x", resolution="480p", seconds=1, parent_asset=theirs),
        )
    assert exc.value.message_dict["reference"] == ["That upload does not exist."]


def test_an_import_deleted_before_its_worker_ran_takes_its_stored_zip_along(
    owner_client, user, export_zip, settings
):
    with export_zip.open("rb") as f:
        owner_client.post(reverse("library_import"), {"archive": f})
    stored = Path(ArchiveImport.objects.get().archive.path)
    assert stored.exists()
    user.delete()
    assert not stored.exists() and _files(settings) == []
