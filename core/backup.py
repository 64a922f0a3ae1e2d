"""Back up and restore a whole studio: the database (as Django fixtures, so any database
engine restores it), every stored file (local folder or bucket) and the Content
Credentials signing identity, with a manifest of SHA-256 sums checked on restore."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.management import call_command
from django.db import transaction

FORMAT = 1
# Rows Django makes itself on migrate; a fixture that carries them would clash.
EXCLUDED = ["contenttypes", "auth.permission", "sessions", "admin.logentry"]


class BackupError(Exception):
    pass


def backup(dest: Path) -> dict[str, object]:
    """Write the studio into the empty folder ``dest``; returns the manifest."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: back up into a new folder.")
    with gzip.open(dest / "database.json.gz", "wt", encoding="utf-8") as out:
        call_command(
            "dumpdata",
            "--natural-foreign",
            "--natural-primary",
            *(f"--exclude={name}" for name in EXCLUDED),
            stdout=out,
        )
    files: dict[str, str] = {}
    for name in _walk(default_storage):
        target = dest / "media" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(name, "rb") as src, target.open("wb") as out_file:
            shutil.copyfileobj(src, out_file)
        files[name] = _sha256(target)
    identity: list[str] = []
    c2pa = Path(settings.STUDIO_C2PA_DIR)
    if c2pa.is_dir():
        for path in sorted(p for p in c2pa.iterdir() if p.is_file()):
            (dest / "c2pa").mkdir(exist_ok=True)
            shutil.copy2(path, dest / "c2pa" / path.name)
            identity.append(path.name)
    manifest: dict[str, object] = {
        "format": FORMAT,
        "made_at": datetime.now(UTC).isoformat(),
        "database": _sha256(dest / "database.json.gz"),
        "files": files,
        "signing_identity": identity,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def restore(src: Path) -> dict[str, int]:
    """Load a backup into this studio's (migrated, empty) database and storage. Checks
    every sum first, so a damaged backup restores nothing."""
    manifest = json.loads((src / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    if _sha256(src / "database.json.gz") != manifest["database"]:
        raise BackupError("database.json.gz does not match the manifest.")
    files: dict[str, str] = manifest["files"]
    for name, digest in files.items():
        path = src / "media" / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{name} is missing or damaged.")
    taken = [name for name in files if default_storage.exists(name)]
    if taken:
        raise BackupError(f"The storage already holds {taken[0]} (and {len(taken) - 1} more).")
    fixture = src / "restore-fixture.json"
    with gzip.open(src / "database.json.gz", "rt", encoding="utf-8") as data:
        fixture.write_text(data.read())
    try:
        with transaction.atomic():
            call_command("loaddata", str(fixture), verbosity=0)
    finally:
        fixture.unlink()
    for name in files:
        with (src / "media" / name).open("rb") as f:
            saved = default_storage.save(name, File(f))
        if saved != name:
            raise BackupError(f"{name} was stored as {saved}.")
    c2pa = Path(settings.STUDIO_C2PA_DIR)
    for file_name in manifest["signing_identity"]:
        target = c2pa / file_name
        if not target.exists():
            c2pa.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / "c2pa" / file_name, target)
    return {"files": len(files)}


def _walk(storage: Storage, folder: str = "") -> Iterator[str]:
    folders, names = storage.listdir(folder)
    for name in sorted(names):
        yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        yield from _walk(storage, f"{folder}/{sub}" if folder else sub)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
