"""Downloading many cards as one zip: each video the file its owner may have (delivery's
rule: never the master for a watermarked plan), each upload its original."""

from __future__ import annotations

import tempfile
import zipfile

from django.http import FileResponse
from django.utils.text import slugify

from delivery.finishing import DeliveryPending, served_file
from generations.models import Asset, Generation, Video


def _name(prompt: str, index: int) -> str:
    stem = slugify(prompt[:60])[:40].strip("-") or "video"
    return f"studio-{stem}-{index + 1}.mp4"


def zip_response(*, generations: list[Generation], assets: list[Asset]) -> FileResponse:
    """A zip (stored, not recompressed: MP4s do not shrink) of the cards' files. Videos still
    being finished are left out and named in ``missing.txt``."""
    out = tempfile.TemporaryFile(prefix="studio-zip-")  # noqa: SIM115 (the response closes it)
    used: set[str] = set()
    missing: list[str] = []

    def unique(name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}-{n}{dot}{ext}"
        used.add(candidate)
        return candidate

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        videos = Video.objects.filter(generation__in=generations).select_related("generation")
        for video in videos.order_by("generation__created_at", "index"):
            name = unique(_name(video.generation.prompt, video.index))
            try:
                field_file = served_file(video)
            except DeliveryPending:
                missing.append(name)
                continue
            with field_file.open("rb") as src, archive.open(name, "w") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
        for asset in assets:
            name = unique(asset.original_name or f"upload.{asset.extension}")
            with asset.file.open("rb") as src, archive.open(name, "w") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
        if missing:
            archive.writestr(
                "missing.txt", "Still being finished, download later:\n" + "\n".join(missing)
            )
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename="studio-library.zip")
