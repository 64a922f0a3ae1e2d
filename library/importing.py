"""Importing an archive (a zip, or a folder on the server) of videos and images, such as a
Sora library export: each file is probed like an upload, its Content Credentials are read
and kept, and it lands in the owner's "Imported" folder.

Refused outright, before anything is stored: a zip that is not one, one with too many
members, a zip bomb (declared sizes over the limit, or a compression ratio no real video or
image has). Refused by name, while the rest still import: unsafe names (absolute, ``..``),
files over the upload limit, anything that is not an intact supported image or video.
Skipped: duplicates (the same SHA-256 as one of the owner's uploads). Each file is imported
whole or not at all: its stored files are removed if any later step fails.

From the web, ``archive_import_start`` stores the zip and sends ``library.tasks.import_archive``;
the worker's ``archive_import_run`` imports it, saving its progress and report on the
ArchiveImport row after each file, and removes the stored zip when it is done.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core import storage
from core.dispatch import enqueue
from generations import services as generation_services
from generations.models import Asset
from library.models import ArchiveImport, Entry, Imported, import_summary
from library.services import IMPORTED_FOLDER, folder_get_or_create
from media.probe import file_sha256
from media.provenance import read_credentials

log = logging.getLogger(__name__)

MAX_MEMBERS = 5000
# No real MP4 or image compresses this well; a bomb does (zeros compress ~1000:1).
MAX_RATIO = 100
_CHUNK = 1 << 20


@dataclass
class ImportReport:
    """What happened to each file, by its name in the archive."""

    imported: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    def summary(self) -> str:
        return import_summary(len(self.imported), len(self.duplicates), len(self.refused))

    def names(self) -> set[str]:
        return {*self.imported, *self.duplicates, *(name for name, _ in self.refused)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            imported=list(data.get("imported", [])),
            duplicates=list(data.get("duplicates", [])),
            refused=[(str(n), str(w)) for n, w in data.get("refused", [])],
        )

    def as_dict(self) -> dict[str, list[Any]]:
        return {
            "imported": list(self.imported),
            "duplicates": list(self.duplicates),
            "refused": [list(r) for r in self.refused],
        }


def made_with(credentials: dict[str, object]) -> str:
    """ "OpenAI Sora" when a manifest says OpenAI signed it or Sora made it, else ""."""
    if credentials.get("state", "none") == "none":
        return ""
    text = " ".join(str(credentials.get(k, "")) for k in ("signer", "claim_generator")).lower()
    actions = credentials.get("actions") or []
    if isinstance(actions, list):
        text += " " + " ".join(str(a.get("softwareAgent", "")) for a in actions).lower()
    if "sora" in text or "openai" in text:
        return "OpenAI Sora"
    return ""


def safe_name(name: str) -> bool:
    """A member name that stays inside the archive: relative, no ``..``, no drive."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name:
        return False
    return ".." not in PurePosixPath(name).parts


def _skippable(name: str) -> bool:
    """Folders and the litter other tools leave in zips are not files to import."""
    parts = PurePosixPath(name).parts
    return name.endswith("/") or "__MACOSX" in parts or parts[-1].startswith(".")


Progress = Callable[[int, int, ImportReport], None]


def archive_import(
    *,
    owner: User,
    source: Path,
    archive_name: str = "",
    progress: Progress | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import every file of ``source`` (a zip file, or a folder walked recursively) for
    ``owner``. Raises ValidationError, with nothing stored, for an archive refused as a
    whole; otherwise returns what happened to each file. ``progress(done, total, report)``
    is called before the first file and after each one. A ``report`` carried over from an
    interrupted run is continued: the files it names are not looked at again."""
    archive_name = (archive_name or source.name)[:255]
    report = report or ImportReport()
    with _members(source) as all_members:
        members = [m for m in all_members if not _skippable(m[0])]
        for done, (name, opener, size) in enumerate(members):
            if progress is not None:
                progress(done, len(members), report)
            if name in report.names():
                continue
            _import_member(owner, report, archive_name, name, opener, size)
        if progress is not None:
            progress(len(members), len(members), report)
    return report


def _import_member(
    owner: User, report: ImportReport, archive_name: str, name: str, opener: Opener, size: int
) -> None:
    """Import one member (or report why not) into ``report``."""
    if not safe_name(name):
        report.refused.append((name, "Unsafe name: files must stay inside the archive."))
        return
    if size > settings.STUDIO_UPLOAD_MAX_BYTES:
        limit = settings.STUDIO_UPLOAD_MAX_BYTES // (1024 * 1024)
        report.refused.append((name, f"Larger than {limit} MB."))
        return
    with tempfile.TemporaryDirectory(prefix="studio-import-") as tmp:
        path = Path(tmp) / "member"
        try:
            with opener() as src:
                _copy_capped(src, path, settings.STUDIO_UPLOAD_MAX_BYTES)
        except (OSError, zipfile.BadZipFile, ValueError) as exc:
            report.refused.append((name, f"Could not be read from the archive: {exc}"))
            return
        sha256 = file_sha256(path)
        if Asset.objects.filter(owner=owner, sha256=sha256).exists():
            report.duplicates.append(name)
            return
        credentials = read_credentials(path).as_dict()
        try:
            _import_one(owner, path, name, archive_name, credentials)
        except ValidationError as exc:
            report.refused.append((name, " ".join(exc.messages)))
            return
        report.imported.append(name)


def _import_one(
    owner: User,
    path: Path,
    name: str,
    archive_name: str,
    credentials: dict[str, object],
) -> Asset:
    with path.open("rb") as f:
        upload: UploadedFile[bytes] = UploadedFile(
            file=f, name=PurePosixPath(name).name[:255], size=path.stat().st_size
        )
        asset = generation_services.asset_create(owner=owner, upload=upload)
    try:
        with transaction.atomic():
            Imported.objects.create(
                asset=asset,
                archive_name=archive_name,
                path_in_archive=name[:500],
                credentials=credentials,
                made_with=made_with(credentials),
            )
            folder = folder_get_or_create(owner=owner, name=IMPORTED_FOLDER)
            Entry.objects.create(owner=owner, asset=asset, folder=folder)
    except BaseException:
        generation_services.asset_delete(asset=asset)
        raise
    return asset


def _copy_capped(src: IO[bytes], dst: Path, limit: int) -> None:
    """Copy at most ``limit`` bytes; more means the archive lied about the size."""
    written = 0
    with dst.open("wb") as out:
        while block := src.read(_CHUNK):
            written += len(block)
            if written > limit:
                raise ValueError("larger than it says")
            out.write(block)


Opener = Callable[[], IO[bytes]]


def _open_file(path: Path) -> IO[bytes]:
    return path.open("rb")


@contextmanager
def _members(source: Path) -> Iterator[list[tuple[str, Opener, int]]]:
    """Every member of a folder or a zip: its name, how to open it, its declared size."""
    if source.is_dir():
        yield [
            (path.relative_to(source).as_posix(), partial(_open_file, path), path.stat().st_size)
            for path in sorted(source.rglob("*"))
            if path.is_file() and not path.is_symlink()
        ]
        return
    with _zip(source) as archive:
        infos = archive.infolist()
        _check_archive(infos)
        yield [(info.filename, partial(archive.open, info), info.file_size) for info in infos]


@contextmanager
def _zip(source: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError("This is not a zip archive.", code="bad_archive") from exc
    with archive:
        yield archive


def _check_archive(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse the whole archive before anything is stored when it is a bomb."""
    if len(infos) > MAX_MEMBERS:
        raise ValidationError(f"Archives of up to {MAX_MEMBERS} files can be imported.")
    total = sum(i.file_size for i in infos)
    if total > settings.STUDIO_ARCHIVE_MAX_BYTES:
        limit = settings.STUDIO_ARCHIVE_MAX_BYTES // (1024 * 1024)
        raise ValidationError(f"The archive unpacks to more than {limit} MB; it was refused.")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ValidationError(
                f"{info.filename} unpacks to {info.file_size // (1024 * 1024)} MB from"
                f" {info.compress_size} bytes: a zip bomb. The archive was refused."
            )


# ---- from the web, through a worker ------------------------------------------------------


def archive_import_start(*, owner: User, upload: UploadedFile[bytes]) -> ArchiveImport:
    """Store an uploaded zip and send it to a worker (on commit). Raises ValidationError,
    with nothing stored, for one over the archive size limit."""
    if upload.size and upload.size > settings.STUDIO_ARCHIVE_MAX_BYTES:
        limit = settings.STUDIO_ARCHIVE_MAX_BYTES // (1024 * 1024)
        raise ValidationError(f"Archives of up to {limit} MB can be imported.")
    job = ArchiveImport(owner=owner, archive_name=(upload.name or "archive.zip")[:255])
    job.archive.save("archive.zip", upload, save=False)
    try:
        job.save()
    except BaseException:
        storage.delete(job.archive)
        raise
    enqueue("library.tasks.import_archive", str(job.pk), queue="media")
    return job


def archive_import_run(import_id: str) -> ArchiveImport:
    """The worker's half: import a stored zip for its owner, saving progress and the report
    after each file; the zip is removed from storage at the end. Safe to run again (a
    message delivered twice, a worker killed half-way): a finished import is left alone, an
    interrupted one continues from its saved report. Raises ArchiveImport.DoesNotExist."""
    job = ArchiveImport.objects.select_related("owner").get(pk=import_id)
    if job.is_final:
        return job
    ArchiveImport.objects.filter(pk=job.pk).update(state=ArchiveImport.State.RUNNING)

    def progress(done: int, total: int, report: ImportReport) -> None:
        ArchiveImport.objects.filter(pk=job.pk).update(
            done_files=done, total_files=total, report=report.as_dict()
        )

    fields: dict[str, Any] = {"finished_at": timezone.now()}
    try:
        with storage.local_copy(job.archive) as path:
            report = archive_import(
                owner=job.owner,
                source=path,
                archive_name=job.archive_name,
                progress=progress,
                report=ImportReport.from_dict(job.report),
            )
    except ValidationError as exc:
        fields.update(state=ArchiveImport.State.FAILED, error=" ".join(exc.messages))
    else:
        fields.update(state=ArchiveImport.State.DONE, report=report.as_dict())
    ArchiveImport.objects.filter(pk=job.pk).update(archive="", **fields)
    storage.delete(job.archive)
    job.refresh_from_db()
    return job
