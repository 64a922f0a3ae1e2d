"""``input_reference`` on create: a file upload (multipart, as the SDK sends it), a
``{file_id}`` of the caller's uploaded asset, or a ``{image_url}`` data URL; another user's
asset is a 404 and a remote URL is refused (Studio fetches nothing for callers)."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from api.keys import apikey_create
from generations.models import Asset, Generation
from generations.services import asset_create

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def auth(user) -> dict[str, str]:
    return {"Authorization": "Bearer " + apikey_create(owner=user).secret}


def _post_json(client, auth, body) -> object:
    return client.post(
        "/v1/videos", data=json.dumps(body), content_type="application/json", headers=auth
    )


def test_a_multipart_upload_becomes_the_reference(client, auth, user):
    response = client.post(
        "/v1/videos",
        {"prompt": "from this picture", "input_reference": SimpleUploadedFile("r.png", _png())},
        headers=auth,
    )
    assert response.status_code == 200, response.content
    reference = Generation.objects.get().reference
    assert reference.owner == user and reference.kind == Asset.Kind.IMAGE
    assert (reference.width, reference.height) == (64, 64)


def test_a_data_url_becomes_the_reference(client, auth, user):
    url = "data:image/png;base64," + base64.b64encode(_png()).decode()
    response = _post_json(client, auth, {"prompt": "p", "input_reference": {"image_url": url}})
    assert response.status_code == 200, response.content
    assert Generation.objects.get().reference.mime == "image/png"


def test_a_file_id_names_the_callers_own_asset(client, auth, user, other_user):
    mine = asset_create(owner=user, upload=SimpleUploadedFile("a.png", _png()))
    theirs = asset_create(owner=other_user, upload=SimpleUploadedFile("b.png", _png()))
    response = _post_json(
        client, auth, {"prompt": "p", "input_reference": {"file_id": str(theirs.pk)}}
    )
    assert response.status_code == 404 and response.json()["error"]["param"] == "input_reference"
    response = _post_json(
        client, auth, {"prompt": "p", "input_reference": {"file_id": f"file-{mine.pk.hex}"}}
    )
    assert response.status_code == 200, response.content
    assert Generation.objects.get().reference == mine


def test_the_sdks_extra_body_form_fields_are_read_as_the_object(client, auth, user):
    mine = asset_create(owner=user, upload=SimpleUploadedFile("a.png", _png()))
    response = client.post(
        "/v1/videos", {"prompt": "p", "input_reference[file_id]": str(mine.pk)}, headers=auth
    )
    assert response.status_code == 200, response.content
    assert Generation.objects.get().reference == mine


@pytest.mark.parametrize(
    "reference",
    [
        {"image_url": "https://example.com/a.png"},
        {"image_url": "data:image/png;base64,@@@"},
        {"file_id": "x", "image_url": "data:image/png;base64,AAAA"},
        {},
        "just a string",
    ],
)
def test_references_studio_cannot_use_are_4xx_with_nothing_saved(client, auth, reference):
    response = _post_json(client, auth, {"prompt": "p", "input_reference": reference})
    assert response.status_code in (400, 422), response.content
    assert response.json()["error"]["param"] == "input_reference"
    assert not Generation.objects.exists() and not Asset.objects.exists()
