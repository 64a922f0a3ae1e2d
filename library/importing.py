"""Importing an archive (a zip, or a folder on the server) of videos and images, such as a
Sora library export: each file is probed like an upload, its Content Credentials are read
and kept, and it lands in the owner's "Imported" folder.

Refused outright, before anything is stored: a zip that is not one, one with too many
members, a zip bomb (declared sizes over the limit, or a compression ratio no real video or
image has). Refused by name, while the rest still import: unsafe names (absolute, ``..``),
files over the upload limit, anything that is not an intact supported image or video.
Skipped: duplicates (the same SHA-256 as one of the owner's uploads). Each file is imported
whole or not at all: its stored files are removed if any later step fails.
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
from typing import IO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from generations import services as generation_services
from generations.models import Asset
from library.models import Entry, Imported
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
        parts = [f"{len(self.imported)} imported"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} already in your library")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return ", ".join(parts) + "."


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


def archive_import(*, owner: User, source: Path, archive_name: str = "") -> ImportReport:
    """Import every file of ``source`` (a zip file, or a folder walked recursively) for
    ``owner``. Raises ValidationError, with nothing stored, for an archive refused as a
    whole; otherwise returns what happened to each file."""
    archive_name = (archive_name or source.name)[:255]
    report = ImportReport()
    folder = None
    for name, opener, size in _members(source):
        if _skippable(name):
            continue
        if not safe_name(name):
            report.refused.append((name, "Unsafe name: files must stay inside the archive."))
            continue
        if size > settings.STUDIO_UPLOAD_MAX_BYTES:
            limit = settings.STUDIO_UPLOAD_MAX_BYTES // (1024 * 1024)
            report.refused.append((name, f"Larger than {limit} MB."))
            continue
        if folder is None:
            folder = folder_get_or_create(owner=owner, name=IMPORTED_FOLDER)
        with tempfile.TemporaryDirectory(prefix="studio-import-") as tmp:
            path = Path(tmp) / "member"
            try:
                with opener() as src:
                    _copy_capped(src, path, settings.STUDIO_UPLOAD_MAX_BYTES)
            except (OSError, zipfile.BadZipFile, ValueError) as exc:
                report.refused.append((name, f"Could not be read from the archive: {exc}"))
                continue
            sha256 = file_sha256(path)
            if Asset.objects.filter(owner=owner, sha256=sha256).exists():
                report.duplicates.append(name)
                continue
            credentials = read_credentials(path).as_dict()
            try:
                _import_one(owner, path, name, archive_name, credentials, folder.pk)
            except ValidationError as exc:
                report.refused.append((name, " ".join(exc.messages)))
                continue
            report.imported.append(name)
    return report


def _import_one(
    owner: User,
    path: Path,
    name: str,
    archive_name: str,
    credentials: dict[str, object],
    folder_id: int,
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
            Entry.objects.create(owner=owner, asset=asset, folder_id=folder_id)
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


def _members(source: Path) -> Iterator[tuple[str, Opener, int]]:
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.is_symlink():
                rel = path.relative_to(source).as_posix()
                yield rel, partial(_open_file, path), path.stat().st_size
        return
    with _zip(source) as archive:
        infos = archive.infolist()
        _check_archive(infos)
        for info in infos:
            yield info.filename, partial(archive.open, info), info.file_size


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
