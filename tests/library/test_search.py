"""Search and filters: prompt words (PostgreSQL full-text, or icontains on SQLite), every
filter alone and combined, the owner's videos only, and a message naming the filter that
emptied the grid."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation, Video
from library import selectors, services
from tests.generations.test_uploads import upload_asset
from tests.library.conftest import card

pytestmark = pytest.mark.django_db


def _found(user, **values) -> list[str]:
    page = selectors.library_page(user, values)
    return sorted(g.prompt for g in page.cards)


@pytest.fixture
def library(user, other_user):
    cards = {
        "kite": card(user, "A red kite flying over the dunes", aspect_ratio="9:16", seconds=4),
        "lighthouse": card(user, "lighthouse at dusk with waves", resolution="720p", seconds=8),
        "fox": card(user, "a fox running through snow", aspect_ratio="1:1", seconds=2),
    }
    card(other_user, "a red kite of someone else")
    return cards


def test_prompt_words_find_the_owners_videos_only(user, library):
    assert _found(user, q="kite") == ["A red kite flying over the dunes"]
    assert _found(user, q="red dunes") == ["A red kite flying over the dunes"]
    assert _found(user, q="kite snow") == []
    assert _found(user, q="whale") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
def test_on_postgresql_search_matches_word_forms_through_the_gin_index(user, library):
    assert _found(user, q="waves flies") == []  # both words must match
    assert _found(user, q="runs") == ["a fox running through snow"]  # stemmed: run
    assert _found(user, q="wave") == ["lighthouse at dusk with waves"]
    sql = str(selectors.library_page.__doc__)  # the index exists and is the searched expression
    assert sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'generation_prompt_fts'")
        (indexdef,) = cursor.fetchone()
    assert "gin" in indexdef and "to_tsvector('english'::regconfig" in indexdef


def test_filters_combine(user, library):
    assert _found(user, aspect_ratio="9:16") == ["A red kite flying over the dunes"]
    assert _found(user, resolution="720p") == ["lighthouse at dusk with waves"]
    assert _found(user, min_seconds=3) == [
        "A red kite flying over the dunes",
        "lighthouse at dusk with waves",
    ]
    assert _found(user, min_seconds=3, max_seconds=5) == ["A red kite flying over the dunes"]
    assert _found(user, min_seconds=3, aspect_ratio="1:1") == []
    assert _found(user, provider="offline", q="fox") == ["a fox running through snow"]
    assert _found(user, provider="someone") == []


def test_dates_watermark_credentials_reference_favourites_and_folder(user, library):
    old = library["fox"]
    Generation.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    week_ago = (timezone.now() - dt.timedelta(days=7)).date()
    assert "a fox running through snow" not in _found(user, since=week_ago)
    assert _found(user, until=week_ago) == ["a fox running through snow"]
    Video.objects.filter(generation=library["kite"]).update(
        watermark=Video.Watermark.INVISIBLE, credentials={"master": {"state": "valid"}}
    )
    assert _found(user, watermark="invisible") == ["A red kite flying over the dunes"]
    assert _found(user, credentials="valid") == ["A red kite flying over the dunes"]
    assert "A red kite flying over the dunes" not in _found(user, credentials="none")
    Generation.objects.filter(pk=library["lighthouse"].pk).update(reference=upload_asset(user))
    assert _found(user, reference="yes") == ["lighthouse at dusk with waves"]
    assert len(_found(user, reference="no")) == 2
    services.cards_favourite(owner=user, favourite=True, generations=[library["fox"]])
    assert _found(user, favourites=True) == ["a fox running through snow"]
    folder = services.folder_create(owner=user, name="Birds")
    services.cards_move(owner=user, folder=folder, generations=[library["kite"]])
    assert _found(user, folder=folder.pk) == ["A red kite flying over the dunes"]
    assert _found(user, folder=folder.pk, favourites=True) == []


def test_sort_newest_oldest_longest(user, library):
    def order(sort: str) -> list[str]:
        return [g.prompt.split()[1] for g in selectors.library_page(user, {"sort": sort}).cards]

    assert order("newest") == ["fox", "at", "red"]
    assert order("oldest") == ["red", "at", "fox"]
    assert order("longest") == ["at", "red", "fox"]


def test_the_url_holds_the_filters_and_the_empty_grid_says_which_one_emptied_it(
    owner_client, user, library
):
    url = reverse("gallery")
    html = owner_client.get(url, {"q": "kite", "aspect_ratio": "1:1"}).content.decode()
    assert "No videos in this aspect ratio." in html
    html = owner_client.get(url, {"q": "whale", "aspect_ratio": "1:1"}).content.decode()
    assert "No videos match these prompt words." in html
    html = owner_client.get(url, {"q": "kite", "sort": "oldest"}).content.decode()
    assert 'value="kite"' in html and '<option value="oldest" selected>' in html
    assert 'hx-push-url="true"' in html


def test_bad_filter_values_are_dropped_not_a_500(owner_client, user, library):
    response = owner_client.get(
        reverse("gallery"),
        {"min_seconds": "lots", "since": "yesterday", "page": "-4", "folder": "x"},
    )
    assert response.status_code == 200
    assert response.content.decode().count('class="card-tile') == 3


def test_uploads_filter_by_kind(user):
    upload_asset(user, "plain.png")
    assert [a.original_name for a in selectors.uploads_page(user, {"kind": "uploaded"}).cards] == [
        "plain.png"
    ]
    page = selectors.uploads_page(user, {"kind": "imported"})
    assert page.cards == [] and page.empty_because == "No uploads of this kind."


def test_the_kind_filter_moves_between_the_videos_and_the_uploads_tabs(owner_client, user):
    response = owner_client.get(reverse("gallery"), {"kind": "imported", "q": "sora", "x": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("library_uploads") + "?q=sora&kind=imported"
    response = owner_client.get(
        reverse("gallery"), {"kind": "uploaded"}, headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"] == reverse("library_uploads") + "?kind=uploaded"
    response = owner_client.get(reverse("library_uploads"), {"kind": "generated", "sort": "oldest"})
    assert response["Location"] == reverse("gallery") + "?sort=oldest"
    page = owner_client.get(reverse("gallery")).content.decode()
    assert '<option value="generated" selected>Generated</option>' in page
    assert "All uploads" not in page
    uploads = owner_client.get(reverse("library_uploads"), {"kind": "imported"}).content.decode()
    assert '<option value="imported" selected>Imported</option>' in uploads
