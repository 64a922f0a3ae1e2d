"""The face check: OpenCV's bundled Haar cascade (``haarcascade_frontalface_default.xml``,
shipped inside opencv-python-headless; no weights are downloaded) finds frontal human
faces in an image."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import cv2

# OpenCV is imported inside the functions: every process that validates a spec imports this
# module, and only those that look for a face need the library loaded.

# Images are scaled down to this many pixels on the long side first (the cascade's time
# grows with the area: 800 px took about 1.6x as long on the bench machine), and its
# smallest window (24 px) then still finds faces a 27th of the picture wide.
MAX_SIDE = 640


@cache
def _detector() -> cv2.CascadeClassifier:
    import cv2

    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
    detector = cv2.CascadeClassifier(str(path))
    if detector.empty():
        raise RuntimeError(f"OpenCV's face cascade is missing at {path}")
    return detector


def count_faces(image: np.ndarray) -> int:
    """How many frontal faces OpenCV finds in an RGB or grey ``image`` array."""
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape[:2]
    scale = MAX_SIDE / max(height, width)
    if scale < 1:
        grey = cv2.resize(
            grey, (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA
        )
    grey = cv2.equalizeHist(grey)
    found = _detector().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return len(found)


def count_faces_in_file(path: str | Path) -> int:
    """Faces in an image file (any format Pillow reads, EXIF orientation applied)."""
    from PIL import Image, ImageOps

    with Image.open(path) as source:
        source.draft("RGB", (MAX_SIDE, MAX_SIDE))
        image = ImageOps.exif_transpose(source).convert("RGB")
    return count_faces(np.asarray(image))
