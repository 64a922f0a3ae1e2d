"""Hypothesis over the Generate and upload forms: whatever is posted, the answer is a page
(never a 500), and either one whole row is made (a queued Generation with its event; an
Asset with its files) or nothing at all: no half-saved row, no file left behind."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from generations.models import Asset, Generation
from generations.states import State
from media.frames import ASPECT_RATIOS, RESOLUTIONS
from tests.fuzz import fuzz

pytestmark = pytest.mark.django_db

FUZZ = fuzz(60)
ODD_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
)  # control characters, NUL, right-to-left marks, emoji...


def _numberish() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(["", "1e9", "NaN", "-0", " 4 ", "0x10", "٣", "9" * 5000]),
        ODD_TEXT,
    )


GENERATE = st.fixed_dictionaries(
    {},
    optional={
        "prompt": st.one_of(
            ODD_TEXT,
            st.text(min_size=1, max_size=30).map(lambda s: s * 100),  # past the limit
            st.just("a lighthouse at dusk, waves rolling in"),
        ),
        "resolution": st.one_of(st.sampled_from(sorted(RESOLUTIONS)), ODD_TEXT),
        "aspect_ratio": st.one_of(st.sampled_from(sorted(ASPECT_RATIOS)), ODD_TEXT),
        "seconds": _numberish(),
        "variations": _numberish(),
        "priority": st.sampled_from(["", "on", "off", "1"]),
        "prompt_in_credentials": st.sampled_from(["", "on"]),
        "provider": st.one_of(st.sampled_from(["offline", "offline:", "nope:x"]), ODD_TEXT),
        "seed": _numberish(),
        "reference": st.one_of(st.uuids().map(str), _numberish()),
        "parent": st.one_of(st.uuids().map(str), ODD_TEXT),
    },
)


@FUZZ
@given(data=GENERATE, htmx=st.booleans())
def test_fuzz_generate_answers_a_page_and_saves_a_whole_job_or_nothing(
    owner_client, user, data, htmx
):
    before = set(Generation.objects.values_list("pk", flat=True))
    headers = {"HX-Request": "true"} if htmx else {}

    response = owner_client.post(reverse("generate"), data, headers=headers)

    assert response.status_code in (200, 302, 404), response.status_code
    made = Generation.objects.exclude(pk__in=before)
    assert made.count() <= 1
    for generation in made:
        assert generation.owner_id == user.pk
        assert generation.state == State.QUEUED
        assert generation.events.filter(to_state=State.QUEUED).exists()
        assert generation.prompt.strip() and len(generation.prompt) <= 2000
        assert generation.resolution in RESOLUTIONS and generation.seconds >= 1


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(out, "PNG")
    return out.getvalue()


def _mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` cut short, with bytes overwritten, or with junk after it."""
    return st.one_of(
        st.integers(0, len(seed)).map(lambda n: seed[:n]),
        st.tuples(st.integers(0, len(seed) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda t: seed[: t[0]] + t[1] + seed[t[0] + len(t[1]) :]
        ),
        st.binary(max_size=64).map(lambda junk: seed + junk),
    )


MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBP", b"\0\0\0\x18ftypmp42",
         b"\x1a\x45\xdf\xa3", b"<svg", b"GIF89a", b"%PDF-"]  # fmt: skip
UPLOADS = st.one_of(
    st.binary(max_size=512),
    st.tuples(st.sampled_from(MAGIC), st.binary(max_size=512)).map(b"".join),
    _mutated(_png()),
    st.just(_png()),
)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@FUZZ
@given(content=UPLOADS, name=st.one_of(st.just("clip.mp4"), ODD_TEXT), htmx=st.booleans())
def test_fuzz_upload_answers_a_page_and_keeps_a_whole_asset_or_nothing(
    owner_client, user, content, name, htmx
):
    media = Path(django_settings.MEDIA_ROOT)
    files_before = _files(media)
    before = set(Asset.objects.values_list("pk", flat=True))
    upload = io.BytesIO(content)
    upload.name = name or "upload"
    headers = {"HX-Request": "true"} if htmx else {}

    response = owner_client.post(reverse("asset_upload"), {"file": upload}, headers=headers)

    assert response.status_code in (200, 302, 400), response.status_code
    made = list(Asset.objects.exclude(pk__in=before))
    assert len(made) <= 1
    new_files = _files(media) - files_before
    if not made:
        assert new_files == set()
    for asset in made:
        assert asset.owner_id == user.pk and asset.kind in ("image", "video")
        assert {Path(asset.file.path), Path(asset.thumbnail.path)} == new_files
