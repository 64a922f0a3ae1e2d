"""A video's content variants for ``GET /v1/videos/{id}/content``: the video is the file
delivery's watermark rule serves this owner (``delivery.finishing.served_file``), and the
thumbnail (WebP) and spritesheet (JPEG, a grid of frames) are made from that same file, so
a watermarked plan never receives an unmarked frame by any variant. Stills are made on first
request and kept in the cache under the served file's name and digest."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.core.cache import cache
from django.db.models.fields.files import FieldFile
from PIL import Image

from core import storage
from generations.models import Video
from media.stills import extract_poster

VARIANTS = ("video", "thumbnail", "spritesheet")
CONTENT_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
SPRITE_COLUMNS = 5
SPRITE_ROWS = 2
SPRITE_TILE_WIDTH = 256
STILL_CACHE_SECONDS = 24 * 3600


def _thumbnail(source: Path, tmp: Path) -> bytes:
    extract_poster(source, tmp / "thumb.jpg", at_fraction=0.4, max_width=640)
    out = io.BytesIO()
    with Image.open(tmp / "thumb.jpg") as image:
        image.save(out, "WEBP", quality=85)
    return out.getvalue()


def _spritesheet(source: Path, tmp: Path) -> bytes:
    count = SPRITE_COLUMNS * SPRITE_ROWS
    tiles: list[Image.Image] = []
    for i in range(count):
        path = tmp / f"tile-{i}.jpg"
        extract_poster(source, path, at_fraction=i / count, max_width=SPRITE_TILE_WIDTH)
        with Image.open(path) as opened:
            tiles.append(opened.convert("RGB"))
    width, height = tiles[0].size
    sheet = Image.new("RGB", (width * SPRITE_COLUMNS, height * SPRITE_ROWS))
    for i, tile in enumerate(tiles):
        sheet.paste(
            tile.resize((width, height)),
            ((i % SPRITE_COLUMNS) * width, (i // SPRITE_COLUMNS) * height),
        )
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=85)
    return out.getvalue()


def still_bytes(video: Video, served: FieldFile, variant: str) -> bytes:
    """The thumbnail or spritesheet of ``served`` (the file this owner may have).
    Raises MediaError when the file cannot be read."""
    name = f"api:still:{variant}:{served.name}:{video.sha256}"
    cached = cache.get(name)
    if isinstance(cached, bytes):
        return cached
    make = _thumbnail if variant == "thumbnail" else _spritesheet
    with (
        tempfile.TemporaryDirectory(prefix="studio-still-") as tmp,
        storage.local_copy(served) as source,
    ):
        data = make(source, Path(tmp))
    cache.set(name, data, timeout=STILL_CACHE_SECONDS)
    return data
