"""Stored files, always through Django's storage API, so the same code runs on a local
folder and on S3-compatible object storage: open, save, a local copy, a URL, delete."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.db.models.fields.files import FieldFile

from core import metrics


@contextmanager
def local_copy(field_file: FieldFile) -> Iterator[Path]:
    """A local path for a stored file: the file itself on local storage, else a temporary
    copy that is removed when the block ends."""
    try:
        yield Path(field_file.path)
        return
    except NotImplementedError:
        pass  # remote storage has no path: copy it down
    with tempfile.TemporaryDirectory(prefix="studio-") as tmp:
        path = Path(tmp) / Path(field_file.name or "file").name
        with field_file.open("rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        yield path


def save(field_file: FieldFile, path: Path, name: str) -> None:
    """Store the local file ``path`` under ``name`` in the field's folder (the model is not
    saved: the caller saves it with its other changes). A save that fails part-way (the
    disk is full) leaves no partial file behind."""
    target = field_file.field.generate_filename(field_file.instance, name)
    existed = field_file.storage.exists(target)
    try:
        with path.open("rb") as f:
            field_file.save(name, File(f), save=False)
    except Exception:
        metrics.count("storage_errors", operation="save")
        if not existed:
            with contextlib.suppress(Exception):
                field_file.storage.delete(target)
        raise


def delete(field_file: FieldFile) -> None:
    """Remove a stored file if the field names one; a file already gone is no error."""
    delete_name(field_file, field_file.name or "")


def delete_name(field_file: FieldFile, name: str) -> None:
    """Remove the stored file ``name`` from the field's storage (an earlier version)."""
    if name:
        try:
            field_file.storage.delete(name)
        except Exception:
            metrics.count("storage_errors", operation="delete")
            raise


def location(field_file: FieldFile) -> str:
    """Where a stored file is, for a person reading a script's output: its local path on
    local storage, else its URL (object storage), else its storage name."""
    try:
        return field_file.path
    except NotImplementedError:
        pass
    try:
        return field_file.url
    except NotImplementedError:
        return field_file.name or ""
