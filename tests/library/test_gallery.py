"""The library's grid: one card per generation with its takes in index order and their own
shape, stars, folders (and the default folder for new results), the uploads tab, bulk
actions, and every route's answer to strangers and to other creators."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from django.urls import reverse

from generations import services as generation_services
from generations.models import Asset, Generation, Video
from generations.spec import GenerationSpec
from library import services
from library.models import ArchiveImport, Entry, Folder, ShareLink
from tests.generations.test_uploads import upload_asset
from tests.library.conftest import card
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


def _grid(client, url: str | None = None, **query: str) -> str:
    response = client.get(url or reverse("gallery"), query)
    assert response.status_code == 200
    return response.content.decode()


def test_one_card_per_generation_with_its_takes_side_by_side_in_index_order(owner_client, user):
    generation = card(user, "four takes of a red kite", takes=4, variations=4)
    html = _grid(owner_client)
    assert html.count('class="card-tile') == 1
    videos = {v.index: str(v.pk) for v in generation.videos.all()}
    positions = [html.index(f"/videos/{videos[i]}/") for i in range(4)]
    assert positions == sorted(positions)
    assert "4 takes" in html


def test_tiles_keep_each_videos_aspect_ratio(owner_client, user):
    card(user, "a tall waterfall", aspect_ratio="9:16")
    card(user, "a square tile pattern", aspect_ratio="1:1")
    card(user, "a wide beach", aspect_ratio="16:9")
    html = _grid(owner_client)
    for w, h in [(480, 854), (480, 480), (854, 480)]:
        assert f'data-aspect="{w}x{h}"' in html
        assert f"aspect-ratio: {w} / {h}" in html
    assert "--ratio: 0.5621" in html and "--ratio: 1.0000" in html


def test_the_grid_is_the_owners_only(owner_client, user, other_user):
    card(user, "my own harbour")
    card(other_user, "someone else's secret video")
    html = _grid(owner_client)
    assert "my own harbour" in html and "secret video" not in html


def test_a_star_marks_a_card_and_the_favourites_view_lists_only_starred(owner_client, user):
    starred, plain = card(user, "a starred comet"), card(user, "a plain meadow")
    url = reverse("library_favourite", args=[starred.pk])
    response = owner_client.post(url, headers={"HX-Request": "true"})
    assert 'aria-pressed="true"' in response.content.decode()
    assert Entry.objects.get(generation=starred).favourite
    html = _grid(owner_client, favourites="on")
    assert "a starred comet" in html and "a plain meadow" not in html
    owner_client.post(url, headers={"HX-Request": "true"})
    assert not Entry.objects.get(generation=starred).favourite
    assert "No favourites here yet" in _grid(owner_client, favourites="on")
    assert plain.pk  # never starred, never given an entry
    assert not Entry.objects.filter(generation=plain).exists()


def test_upload_cards_have_a_star_too(owner_client, user):
    asset = upload_asset(user, "starry.png")
    html = _grid(owner_client, reverse("library_uploads"))
    star = reverse("library_asset_favourite", args=[asset.pk])
    assert f'hx-post="{star}"' in html and 'aria-pressed="false"' in html
    response = owner_client.post(star, headers={"HX-Request": "true"})
    assert 'aria-pressed="true"' in response.content.decode()
    assert Entry.objects.get(asset=asset).favourite is True
    starred = _grid(owner_client, reverse("library_uploads"), favourites="on")
    assert "starry.png" in starred and 'aria-pressed="true"' in starred
    owner_client.post(star)
    assert Entry.objects.get(asset=asset).favourite is False
    assert "starry.png" not in _grid(owner_client, reverse("library_uploads"), favourites="on")


def test_folders_are_made_renamed_and_deleted_without_deleting_their_videos(owner_client, user):
    a, b = card(user, "first of two"), card(user, "second of two")
    owner_client.post(reverse("folder_create"), {"name": "  Trip   to Lisbon "})
    folder = Folder.objects.get(owner=user)
    assert folder.name == "Trip to Lisbon"
    response = owner_client.post(reverse("folder_create"), {"name": "Trip to Lisbon"}, follow=True)
    assert "already have a folder named" in response.content.decode()
    owner_client.post(
        reverse("library_bulk"),
        {"ids": [str(a.pk), str(b.pk)], "action": "move", "folder": folder.pk},
    )
    html = _grid(owner_client, folder=str(folder.pk))
    assert "first of two" in html and "second of two" in html
    owner_client.post(reverse("folder_rename", args=[folder.pk]), {"name": "Lisbon"})
    folder.refresh_from_db()
    assert folder.name == "Lisbon"
    owner_client.post(reverse("folder_delete", args=[folder.pk]))
    assert not Folder.objects.filter(pk=folder.pk).exists()
    assert Generation.objects.filter(pk__in=[a.pk, b.pk]).count() == 2
    assert Entry.objects.filter(generation__in=[a, b], folder__isnull=True).count() == 2


def test_deleting_a_folder_with_its_videos_needs_the_tick(owner_client, user):
    doomed = make_finished(user, prompt="a doomed sandcastle")
    video = doomed.videos.get()
    path = video.file.path
    folder = services.folder_create(owner=user, name="Drafts")
    services.cards_move(owner=user, folder=folder, generations=[doomed])
    response = owner_client.post(
        reverse("folder_delete", args=[folder.pk]), {"delete_contents": "yes"}, follow=True
    )
    assert "with 1 items" in response.content.decode()
    assert not Generation.objects.filter(pk=doomed.pk).exists()
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not os.path.exists(path)


def test_new_results_land_in_the_default_folder(owner_client, user):
    folder = services.folder_create(owner=user, name="Inbox")
    owner_client.post(reverse("default_folder"), {"folder": folder.pk})
    generation = generation_services.generation_create(
        owner=user, spec=GenerationSpec(prompt="into the inbox", resolution="480p", seconds=1)
    )
    assert Entry.objects.get(generation=generation).folder == folder
    assert f'<option value="{folder.pk}" selected>' in _grid(owner_client)
    owner_client.post(reverse("default_folder"), {"folder": ""})
    other = generation_services.generation_create(
        owner=user, spec=GenerationSpec(prompt="nowhere", resolution="480p", seconds=1)
    )
    assert not Entry.objects.filter(generation=other).exists()


def test_the_uploads_tab_lists_uploads_with_search_and_delete(owner_client, user, other_user):
    mine = upload_asset(user, "harbour-sketch.png")
    upload_asset(other_user, "not-mine.png")
    html = _grid(owner_client, reverse("library_uploads"))
    assert "harbour-sketch.png" in html and "not-mine.png" not in html
    assert "Uploaded" in html
    assert "harbour-sketch.png" not in _grid(owner_client, reverse("library_uploads"), q="nothing")
    assert "harbour-sketch.png" in _grid(owner_client, reverse("library_uploads"), q="sketch")
    owner_client.post(reverse("library_bulk"), {"ids": [str(mine.pk)], "action": "delete"})
    assert not Asset.objects.filter(pk=mine.pk).exists()


def test_bulk_star_move_and_delete_say_how_many(owner_client, user, other_user):
    a, b, c = (card(user, f"bulk {n}") for n in "abc")
    theirs = card(other_user, "not yours")
    ids = [str(a.pk), str(b.pk), str(theirs.pk)]
    response = owner_client.post(
        reverse("library_bulk"), {"ids": ids, "action": "favourite"}, follow=True
    )
    assert "2 starred." in response.content.decode()
    assert not Entry.objects.filter(generation=theirs).exists()
    response = owner_client.post(
        reverse("library_bulk"),
        {"ids": [str(c.pk), str(theirs.pk)], "action": "delete"},
        follow=True,
    )
    assert "1 deleted." in response.content.decode()
    assert Generation.objects.filter(pk=theirs.pk).exists()
    assert not Generation.objects.filter(pk=c.pk).exists()


def test_bulk_zip_holds_the_file_each_video_may_be_served_as(owner_client, user):
    generation = make_finished(user, prompt="zip me up")
    video = generation.videos.get()
    assert video.watermark == Video.Watermark.VISIBLE  # the default plan is watermarked
    response = owner_client.post(
        reverse("library_bulk"), {"ids": [str(generation.pk)], "action": "zip"}
    )
    assert response["Content-Disposition"].startswith("attachment")
    body = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == ["studio-zip-me-up-1.mp4"]
        data = archive.read("studio-zip-me-up-1.mp4")
    assert data == video.delivery.read()
    assert data != video.file.read()


def test_the_htmx_request_gets_only_the_grid(owner_client, user):
    card(user, "grid only")
    response = owner_client.get(reverse("gallery"), headers={"HX-Request": "true"})
    html = response.content.decode().strip()
    assert html.startswith('<section id="gallery-grid">') and "<html" not in html


def test_the_old_gallery_address_still_answers(owner_client, user):
    card(user, "still here")
    assert "still here" in _grid(owner_client, "/gallery/")


def test_the_older_link_comes_from_one_extra_row_not_a_count(owner_client, user, settings):
    settings.STUDIO_GALLERY_PAGE_SIZE = 2
    for n in range(5):
        card(user, f"paged {n}")
    html = _grid(owner_client)
    assert "Older" in html and "Newer" not in html
    assert "paged 4" in html and "paged 3" in html and "paged 2" not in html
    last = _grid(owner_client, page="3")
    assert "paged 0" in last and "Older" not in last and "Newer" in last
    assert "Page 3" in last


def _object_routes(user, other_user):
    generation = card(user, "owned")
    video = generation.videos.first()
    folder = services.folder_create(owner=user, name="Owned")
    link = services.share_create(owner=user, video=video, show_prompt=False, expires_at=None)
    asset = upload_asset(user, "owned.png")
    job = ArchiveImport.objects.create(owner=user, archive_name="owned.zip")
    gets = [
        reverse("library_tree", args=[generation.pk]),
        reverse("share_new", args=[video.pk]),
        reverse("library_import_status", args=[job.pk]),
        reverse("dashboard") + f"?from_asset={asset.pk}",
    ]
    posts = [
        reverse("library_asset_favourite", args=[asset.pk]),
        reverse("library_favourite", args=[generation.pk]),
        reverse("folder_rename", args=[folder.pk]),
        reverse("folder_delete", args=[folder.pk]),
        reverse("share_revoke", args=[link.pk]),
        reverse("share_new", args=[video.pk]),
    ]
    return gets, posts, folder, link


def test_every_object_route_is_a_404_for_another_creator(client, user, other_user):
    gets, posts, folder, link = _object_routes(user, other_user)
    client.force_login(other_user)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, {"name": "stolen"}).status_code == 404, url
    assert Folder.objects.get(pk=folder.pk).name == "Owned"
    assert ShareLink.objects.get(pk=link.pk).revoked_at is None
    response = client.post(reverse("default_folder"), {"folder": folder.pk})
    assert response.status_code == 404


def test_every_library_page_sends_a_stranger_to_log_in(client, user, other_user):
    gets, posts, _, _ = _object_routes(user, other_user)
    pages = [reverse(n) for n in ("gallery", "library_uploads", "shared")]
    actions = [
        reverse(n) for n in ("library_bulk", "library_import", "folder_create", "default_folder")
    ]
    for url in [*gets, *pages]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), (
            url
        )
    for url in [*posts, *actions]:
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), (
            url
        )


def test_the_composer_picks_the_default_folder_for_new_results(owner_client, user):
    folder = services.folder_create(owner=user, name="From the composer")
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert 'id="composer-default-folder"' in page and "From the composer" in page
    response = owner_client.post(
        reverse("default_folder"), {"folder": folder.pk}, headers={"HX-Request": "true"}
    )
    assert f'<option value="{folder.pk}" selected>' in response.content.decode()
    response = owner_client.post(
        reverse("generate"),
        {
            "prompt": "lands in the folder",
            "resolution": "480p",
            "aspect_ratio": "16:9",
            "seconds": 1,
            "variations": 1,
            "provider": "offline",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Entry.objects.get(generation__prompt="lands in the folder").folder == folder
