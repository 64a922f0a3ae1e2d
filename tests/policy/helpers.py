"""Helpers for the policy tests: posting the Generate form, and a synthetic face drawn so
that OpenCV's Haar cascade finds it."""

from __future__ import annotations

import io

import cv2
import numpy as np
from django.urls import reverse
from PIL import Image

FORM = {
    "resolution": "720p",
    "aspect_ratio": "16:9",
    "seconds": 4,
    "variations": 1,
    "provider": "offline",
}


def post_generate(client, prompt: str, **extra):
    data = {**FORM, "prompt": prompt, **extra}
    return client.post(reverse("generate"), data, headers={"HX-Request": "true"})


def face_png(size: int = 256) -> bytes:
    """A cartoon face (skin-toned oval, hair, brows, eyes with pupils, nose, mouth),
    softened a little: the light and dark regions the frontal-face cascade looks for."""
    image = np.full((size, size, 3), 90, np.uint8)
    c, s = size // 2, size / 256

    def px(v: float) -> int:
        return int(v * s)

    cv2.ellipse(image, (c, c), (px(80), px(105)), 0, 0, 360, (220, 180, 150), -1)
    cv2.ellipse(image, (c, c - px(70)), (px(85), px(45)), 0, 180, 360, (40, 30, 30), -1)
    for dx in (-px(35), px(35)):
        cv2.ellipse(image, (c + dx, c - px(40)), (px(22), px(6)), 0, 0, 360, (50, 40, 40), -1)
        cv2.ellipse(image, (c + dx, c - px(20)), (px(18), px(10)), 0, 0, 360, (245,) * 3, -1)
        cv2.circle(image, (c + dx, c - px(20)), px(8), (30, 30, 30), -1)
    cv2.line(image, (c, c - px(15)), (c - px(8), c + px(25)), (180, 140, 110), px(4))
    cv2.ellipse(image, (c, c + px(28)), (px(14), px(6)), 0, 0, 360, (160, 120, 100), -1)
    cv2.ellipse(image, (c, c + px(55)), (px(32), px(12)), 0, 0, 180, (150, 60, 60), -1)
    image = cv2.GaussianBlur(image, (0, 0), 4 * s)
    out = io.BytesIO()
    Image.fromarray(image).save(out, "PNG")
    return out.getvalue()


def landscape_png(size: int = 256) -> bytes:
    """Sky, sun and hills: no face anywhere."""
    image = np.zeros((size, size, 3), np.uint8)
    image[:] = (120, 170, 230)
    cv2.circle(image, (size // 4, size // 4), size // 10, (250, 230, 120), -1)
    cv2.ellipse(image, (size // 2, size), (size, size // 3), 0, 180, 360, (60, 140, 70), -1)
    out = io.BytesIO()
    Image.fromarray(image).save(out, "PNG")
    return out.getvalue()
