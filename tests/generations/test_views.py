"""Pages: each works for its owner, is a 404 for anyone else, and asks strangers to log in;
htmx requests get only their fragment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Generation
from generations.states import State
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(user):
    return make_finished(user)


def _owned_urls(generation):
    video = generation.videos.get()
    return {
        "generation_detail": reverse("generation_detail", args=[generation.pk]),
        "generation_card": reverse("generation_card", args=[generation.pk]),
        "video_detail": reverse("video_detail", args=[video.pk]),
        "video_file": reverse("video_file", args=[video.pk]),
        "video_poster": reverse("video_poster", args=[video.pk]),
        "edit_prompt": reverse("dashboard") + f"?from={generation.pk}",
    }


def test_every_page_answers_its_owner(owner_client, finished):
    for name in ("dashboard", "gallery", "password_change"):
        assert owner_client.get(reverse(name)).status_code == 200, name
    for name, url in _owned_urls(finished).items():
        response = owner_client.get(url)
        assert response.status_code == 200, name


def test_another_users_ids_are_404(client, other_user, finished):
    client.force_login(other_user)
    for name, url in _owned_urls(finished).items():
        assert client.get(url).status_code == 404, name
    video = finished.videos.get()
    for url in (
        reverse("generation_cancel", args=[finished.pk]),
        reverse("video_delete", args=[video.pk]),
    ):
        assert client.post(url).status_code == 404
    assert finished.videos.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, finished):
    urls = [reverse("dashboard"), reverse("gallery"), *_owned_urls(finished).values()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_gallery_lists_only_the_owners_videos(owner_client, finished, other_user):
    make_finished(other_user, prompt="someone else's secret video")

    page = owner_client.get(reverse("gallery")).content.decode()

    assert "a paper boat on a pond" in page
    assert "secret video" not in page


def test_the_htmx_card_returns_only_its_fragment(owner_client, finished):
    response = owner_client.get(
        reverse("generation_card", args=[finished.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode().strip()
    assert html.startswith(f'<article id="job-{finished.pk}"')
    assert "<html" not in html and "<body" not in html
    assert "hx-trigger" not in html  # a final job stops polling


def test_an_active_card_keeps_polling(owner_client, user):
    from tests.factories import make_generation

    generation = make_generation(user, state=State.RUNNING, progress=40)
    html = owner_client.get(
        reverse("generation_card", args=[generation.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'value="40"' in html


def test_the_htmx_gallery_returns_only_its_grid(owner_client, finished):
    html = owner_client.get(reverse("gallery"), headers={"HX-Request": "true"}).content.decode()
    assert html.strip().startswith('<section id="gallery-grid">')
    assert "<html" not in html


def test_generate_creates_a_queued_job_and_answers_with_the_fresh_form(owner_client, user):
    response = owner_client.post(
        reverse("generate"),
        {
            "prompt": "a comet over mountains",
            "resolution": "720p",
            "aspect_ratio": "9:16",
            "seconds": 4,
            "variations": 2,
            "provider": "offline",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    generation = Generation.objects.get(owner=user)
    assert generation.state == State.QUEUED
    assert (generation.resolution, generation.aspect_ratio, generation.seconds) == (
        "720p",
        "9:16",
        4,
    )
    assert generation.size == (720, 1280)
    html = response.content.decode()
    assert html.strip().startswith('<section id="create-panel"')
    assert f'id="job-{generation.pk}"' in html  # the new card, swapped in out of band


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prompt", "", "This field is required."),
        ("prompt", "x" * 2001, "at most 2000 characters"),
        ("seconds", "21", "less than or equal to 20"),
        ("seconds", "0", "greater than or equal to 1"),
        ("resolution", "4k", "Select a valid choice"),
        ("aspect_ratio", "4:3", "Select a valid choice"),
        ("variations", "3", "Select a valid choice"),
        ("provider", "sora", "Select a valid choice"),
    ],
)
def test_bad_settings_get_a_form_error_and_save_nothing(owner_client, field, value, message):
    data = {
        "prompt": "ok",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "seconds": 5,
        "variations": 1,
        "provider": "offline",
        field: value,
    }

    response = owner_client.post(reverse("generate"), data, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Generation.objects.exists()


def test_another_users_asset_cannot_be_a_reference(owner_client, other_user):
    from tests.generations.test_uploads import upload_asset

    asset = upload_asset(other_user)
    response = owner_client.post(
        reverse("generate"),
        {
            "prompt": "ok",
            "resolution": "720p",
            "aspect_ratio": "16:9",
            "seconds": 5,
            "variations": 1,
            "provider": "offline",
            "reference": asset.pk,
        },
        headers={"HX-Request": "true"},
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Generation.objects.exists()


def test_edit_prompt_prefills_the_dashboard_and_records_the_parent(owner_client, finished):
    page = owner_client.get(reverse("dashboard") + f"?from={finished.pk}").content.decode()
    assert "a paper boat on a pond" in page
    assert f'value="{finished.pk}"' in page

    owner_client.post(
        reverse("generate"),
        {
            "prompt": "a paper boat on a stormy pond",
            "resolution": "480p",
            "aspect_ratio": "1:1",
            "seconds": 1,
            "variations": 1,
            "provider": "offline",
            "parent": finished.pk,
        },
    )

    child = Generation.objects.exclude(pk=finished.pk).get()
    assert child.parent == finished


def test_cancel_ends_an_active_job(owner_client, user):
    from tests.factories import make_generation

    generation = make_generation(user, state=State.QUEUED)
    response = owner_client.post(
        reverse("generation_cancel", args=[generation.pk]), headers={"HX-Request": "true"}
    )
    generation.refresh_from_db()
    assert generation.state == State.CANCELED
    assert "Canceled" in response.content.decode()


def test_a_failed_job_shows_its_error_in_plain_words(owner_client, user):
    from tests.factories import make_generation

    generation = make_generation(
        user, state=State.FAILED, error_message="The provider could not make this video."
    )
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert "The provider could not make this video." in html
    assert owner_client.get(reverse("generation_detail", args=[generation.pk])).status_code == 200


def test_video_files_support_range_requests_for_seeking(owner_client, finished):
    video = finished.videos.get()
    response = owner_client.get(
        reverse("video_file", args=[video.pk]), headers={"Range": "bytes=0-99"}
    )
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-99/{video.size_bytes}"
    assert len(b"".join(response.streaming_content)) == 100


def test_a_malformed_edit_prompt_id_is_a_404(owner_client):
    assert owner_client.get(reverse("dashboard") + "?from=not-a-uuid").status_code == 404


def test_download_is_an_attachment_with_a_safe_name(owner_client, user):
    finished = make_finished(user, prompt='a "quoted"\nprompt/with; odd chars')
    video = finished.videos.get()
    response = owner_client.get(reverse("video_file", args=[video.pk]) + "?download=1")
    assert response["Content-Disposition"] == (
        'attachment; filename="studio-a-quoted-promptwith-odd-chars-1.mp4"'
    )
    assert b"".join(response.streaming_content)[4:8] == b"ftyp"


def test_deleting_a_video_removes_its_files(owner_client, finished):
    video = finished.videos.get()
    path = video.file.path
    response = owner_client.post(reverse("video_delete", args=[video.pk]))
    assert response.status_code == 302
    assert not finished.videos.exists()
    import os

    assert not os.path.exists(path)


def test_signup_logs_the_new_creator_in(client, django_user_model):
    response = client.post(
        reverse("signup"),
        {
            "username": "cleo",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    assert django_user_model.objects.filter(username="cleo").exists()
