"""The face check with OpenCV's bundled Haar cascade: a PNG of a synthetic face (drawn so
that the detector finds it) is refused as an upload and as a reference when the operator
says so, and accepted when not; a picture with no face always passes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from generations.models import Asset, Generation
from policy.faces import count_faces
from policy.models import PolicySettings, Refusal
from tests.generations.test_uploads import upload_asset
from tests.policy.helpers import face_png, landscape_png, post_generate

pytestmark = pytest.mark.django_db


def refuse_faces(on: bool) -> None:
    row = PolicySettings.load()
    row.refuse_faces = on
    row.save()


def upload(client, data: bytes, name: str = "me.png"):
    return client.post(
        reverse("asset_upload"),
        {"file": SimpleUploadedFile(name, data, "image/png")},
        headers={"HX-Request": "true"},
    )


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_detector_finds_the_drawn_face_and_nothing_in_the_landscape():
    assert count_faces(pixels(face_png())) == 1
    assert count_faces(pixels(face_png(size=1600))) == 1  # scaled down first
    assert count_faces(pixels(landscape_png())) == 0


def test_a_face_upload_is_refused_when_the_operator_says_so(owner_client, user):
    refuse_faces(True)

    response = upload(owner_client, face_png())

    assert response.status_code == 200
    assert "faces are not allowed here" in response.content.decode()
    assert not Asset.objects.exists()
    refusal = Refusal.objects.get()
    assert (refusal.stage, refusal.rule, refusal.excerpt, refusal.user) == (
        "upload",
        "face check: 1 face(s) found",
        "me.png",
        user,
    )


def test_a_face_upload_is_accepted_when_the_operator_allows_faces(owner_client, user):
    refuse_faces(False)
    upload(owner_client, face_png())
    assert Asset.objects.filter(owner=user).count() == 1
    assert not Refusal.objects.exists()


def test_a_picture_without_a_face_passes_the_check(owner_client, user):
    refuse_faces(True)
    upload(owner_client, landscape_png())
    assert Asset.objects.filter(owner=user).count() == 1


def test_a_face_reference_uploaded_before_the_check_was_on_is_refused_at_generate(
    owner_client, user
):
    asset = upload_asset(user, data=face_png())
    refuse_faces(True)

    response = post_generate(owner_client, "make it move", reference=asset.pk)

    assert "faces are not allowed here" in response.content.decode()
    assert not Generation.objects.exists()
    assert Refusal.objects.get().stage == "reference"

    refuse_faces(False)
    post_generate(owner_client, "make it move", reference=asset.pk)
    assert Generation.objects.get().reference == asset
