"""What each plan downloads: the watermarked copy or the master, every file signed with
Content Credentials and carrying the invisible watermark; no route hands a watermarked-plan
creator the master; the Verify page reads any file back."""

from __future__ import annotations

import io
import struct

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from delivery import finishing
from delivery import services as delivery_services
from generations.models import Video
from generations.spec import GenerationSpec
from media.provenance import ALGORITHMIC_SOURCE_TYPE, read_credentials
from media.watermark import read_watermark
from tests.conftest import put_on_plan
from tests.mediatools import reencode
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="gray") for f in container.decode(video=0)]


def _download(client, video: Video) -> bytes:
    response = client.get(reverse("video_file", args=[video.pk]) + "?download=1")
    assert response.status_code == 200
    return _body(response)


@pytest.fixture
def plus_video(user) -> Video:
    return make_finished(user, prompt="a paper boat on a pond, drifting").videos.get()


@pytest.fixture
def pro_video(other_user) -> Video:
    put_on_plan(other_user, "Pro")
    return make_finished(other_user, prompt="a paper boat on a pond, drifting").videos.get()


def test_a_watermarked_plan_downloads_the_master_with_a_moving_visible_mark(
    owner_client, plus_video
):
    assert plus_video.watermark == Video.Watermark.VISIBLE
    downloaded = _download(owner_client, plus_video)
    master = plus_video.file.read()
    assert downloaded != master
    marked, clean = _frames(downloaded), _frames(master)
    assert len(marked) == len(clean) == 24
    regions = []
    for i in (0, len(marked) - 1):
        diff = np.abs(marked[i].astype(int) - clean[i].astype(int))
        strong = diff > 24
        # The mark changes a visible patch and leaves the rest of the picture alone.
        assert 0.002 < strong.mean() < 0.2
        assert np.mean(diff < 8) > 0.75
        ys, xs = np.nonzero(strong)
        regions.append((ys.mean(), xs.mean()))
    assert regions[0] != pytest.approx(regions[1], abs=4)  # it moved


def test_a_watermark_free_plan_downloads_the_master_plus_credentials(client, other_user, pro_video):
    client.force_login(other_user)
    assert pro_video.watermark == Video.Watermark.INVISIBLE
    assert not pro_video.delivery
    assert _download(client, pro_video) == pro_video.file.read()


def test_every_served_file_carries_valid_credentials_and_the_invisible_watermark(
    client, user, other_user, plus_video, pro_video, tmp_path
):
    identity = finishing.signing_identity()
    for owner, video in ((user, plus_video), (other_user, pro_video)):
        client.force_login(owner)
        path = tmp_path / f"{video.pk}.mp4"
        path.write_bytes(_download(client, video))
        credentials = read_credentials(path, identity=identity)
        assert credentials.state == "valid", credentials.problems
        assert credentials.ours and credentials.signer == "Studio"
        assert credentials.actions[0]["action"] == "c2pa.created"
        # The offline renderer is no AI model and its credentials say so.
        assert credentials.actions[0]["digitalSourceType"] == ALGORITHMIC_SOURCE_TYPE
        assert credentials.assertions["prompt_sha256"]
        assert "prompt" not in credentials.assertions
        assert credentials.assertions["provider"] == "Offline preview renderer"
        reading = read_watermark(path)
        assert reading.found and reading.payload == video.watermark_id


def test_no_route_hands_a_watermarked_plan_creator_the_master(owner_client, plus_video):
    master = plus_video.file.read()
    file_url = reverse("video_file", args=[plus_video.pk])
    assert _body(owner_client.get(file_url)) != master
    ranged = owner_client.get(file_url, headers={"Range": "bytes=0-"})
    assert _body(ranged) == plus_video.delivery.read()
    tail = owner_client.get(file_url, headers={"Range": f"bytes=-{len(master)}"})
    assert _body(tail) != master
    for guess in (
        f"/files/{plus_video.file.name}",
        f"/media/{plus_video.file.name}",
        f"/{plus_video.file.name}",
    ):
        assert owner_client.get(guess).status_code == 404, guess
    admin_page = owner_client.get(reverse("admin:generations_video_change", args=[plus_video.pk]))
    assert admin_page.status_code == 302  # to the admin login: creators are not staff
    staff_poster = owner_client.get(reverse("admin_video_poster", args=[plus_video.pk]))
    assert staff_poster.status_code == 302


def test_the_poster_is_a_frame_of_the_file_the_creator_gets(owner_client, plus_video):
    poster = _body(owner_client.get(reverse("video_poster", args=[plus_video.pk])))
    assert poster[:3] == b"\xff\xd8\xff"
    assert plus_video.poster.read() == poster


def test_after_a_downgrade_the_master_is_withheld_until_a_watermarked_copy_exists(
    client, other_user, pro_video, django_capture_on_commit_callbacks
):
    client.force_login(other_user)
    put_on_plan(other_user, "Plus")
    with django_capture_on_commit_callbacks() as asked:
        response = client.get(reverse("video_file", args=[pro_video.pk]))
    assert response.status_code == 503 and "being made" in response.content.decode()
    assert len(asked) == 1  # a worker was asked to make the copy
    assert client.get(reverse("video_poster", args=[pro_video.pk])).status_code == 503

    finishing.video_prepare(Video.objects.get(pk=pro_video.pk))

    pro_video.refresh_from_db()
    assert pro_video.watermark == Video.Watermark.VISIBLE
    assert pro_video.credentials["delivery"]["state"] == "valid"
    downloaded = _download(client, pro_video)
    assert downloaded == pro_video.delivery.read() != pro_video.file.read()


def test_the_gallery_filters_by_watermark_state(owner_client, user, plus_video):
    put_on_plan(user, "Pro")
    clean = make_finished(user, prompt="a clean copy").videos.get()
    assert clean.watermark == Video.Watermark.INVISIBLE

    def shown(query: str) -> set[str]:
        html = owner_client.get(reverse("gallery") + query).content.decode()
        return {str(v.pk) for v in (plus_video, clean) if str(v.pk) in html}

    assert shown("") == {str(plus_video.pk), str(clean.pk)}
    assert shown("?watermark=visible") == {str(plus_video.pk)}
    assert shown("?watermark=invisible") == {str(clean.pk)}
    assert shown("?watermark=none") == set()
    assert (
        "No videos with this watermark state."
        in owner_client.get(reverse("gallery") + "?watermark=none").content.decode()
    )


def test_the_detail_page_shows_the_content_credentials_of_the_served_file(owner_client, plus_video):
    html = owner_client.get(reverse("video_detail", args=[plus_video.pk])).content.decode()
    assert "Content Credentials" in html
    assert "<strong>Valid</strong>: signed by Studio (this studio)" in html
    assert "c2pa.created" in html and "algorithmicMedia" in html
    assert "Visible + invisible" in html
    assert "With the studio's visible watermark" in html


def test_an_edit_records_c2pa_edited_with_the_parent_as_ingredient(user, plus_video):
    child = make_finished(
        user,
        prompt="the same boat, at night",
        parent=plus_video.generation,
        prompt_in_credentials=True,
    ).videos.get()
    served = child.credentials["delivery"]
    assert [a["action"] for a in served["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert served["ingredients"] and served["ingredients"][0]["relationship"] == "parentOf"
    assert served["assertions"]["prompt"] == "the same boat, at night"


def _verify(client, name: str, data: bytes, content_type: str = "video/mp4") -> str:
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    response = client.post(reverse("verify"), {"file": upload})
    assert response.status_code == 200
    return response.content.decode()


def test_verify_names_the_creators_own_video_after_a_reencode_at_half_size(
    owner_client, plus_video, tmp_path
):
    downloaded = tmp_path / "download.mp4"
    downloaded.write_bytes(_download(owner_client, plus_video))
    copy = reencode(downloaded, tmp_path / "copy.mp4", scale=0.5)
    html = _verify(owner_client, "copy.mp4", copy.read_bytes())
    assert "No Content Credentials" in html  # the re-encode dropped them
    assert "this is your video" in html
    assert reverse("video_detail", args=[plus_video.pk]) in html


def test_verify_says_another_creators_video_is_ours_without_naming_it(
    owner_client, pro_video, tmp_path
):
    html = _verify(owner_client, "found.mp4", pro_video.file.read())
    assert "<strong>Valid</strong>" in html
    assert "made in this studio, by another creator" in html
    assert str(pro_video.pk) not in html.split("verify-result")[-1].split("Content Credentials")[0]


def test_verify_catches_a_tampered_file(owner_client, plus_video):
    data = bytearray(_download(owner_client, plus_video))
    offset = 0
    while True:  # the mdat box: flip one byte of the media data
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"mdat":
            break
        offset += size
    data[offset + size - 100] ^= 0xFF
    html = _verify(owner_client, "tampered.mp4", bytes(data))
    assert "<strong>Invalid</strong>" in html


def test_verify_reports_a_file_without_credentials_or_watermark(owner_client, tmp_path):
    from media.render import render_title_card

    clip = tmp_path / "plain.mp4"
    render_title_card(
        out_path=clip, prompt="not from here", width=320, height=180, seconds=1, fps=24, seed=2
    )
    html = _verify(owner_client, "plain.mp4", clip.read_bytes())
    assert "No Content Credentials" in html
    assert "Not found" in html
    garbage = _verify(owner_client, "notes.mp4", b"just some text, not a video" * 10)
    assert "could not be read as an image or a video" in garbage


def test_a_bug_in_finishing_fails_the_job_at_once_and_keeps_the_download(user, monkeypatch):
    from generations import services
    from providers.registry import get_provider

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(finishing, "make_renditions", broken)
    generation = services.generation_create(
        owner=user, spec=GenerationSpec(prompt="a kite", resolution="480p", seconds=1)
    )
    services.generation_submit(generation.pk)
    generation.refresh_from_db()
    get_provider("offline").run(generation.provider_job_id)
    services.generation_poll(generation.pk)
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)

    generation.refresh_from_db()
    assert (generation.state, generation.error_code) == ("failed", "finishing_failed")
    assert "could not be finished" in generation.error_message
    video = generation.videos.get()
    assert video.file.storage.exists(video.file.name)


def test_the_creator_opts_in_to_the_prompt_in_the_credentials_from_the_form(owner_client, user):
    from tests.pipeline import run_inline

    put_on_plan(user, "Pro")  # two jobs at once
    for opt_in in ("", "on"):
        owner_client.post(
            reverse("generate"),
            {
                "prompt": f"a lantern festival {opt_in or 'off'}",
                "resolution": "480p",
                "aspect_ratio": "1:1",
                "seconds": 1,
                "variations": 1,
                "provider": "offline",
                "prompt_in_credentials": opt_in,
            },
        )
    hidden, shown = (
        run_inline(g).videos.get().credentials["master"]["assertions"]
        for g in user.generation_set.order_by("created_at")
    )
    assert "prompt" not in hidden and len(hidden["prompt_sha256"]) == 64
    assert shown["prompt"] == "a lantern festival on"
