"""Share links: the public page plays and offers the file the owner's plan allows (never the
master for a watermarked owner), shows credentials, the prompt only when allowed, Open Graph
tags; revoked, expired and forged tokens are 404; the pages are rate-limited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from library import services
from library.models import ShareLink
from tests.conftest import put_on_plan
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def shared_video(user):
    return make_finished(user, prompt="a secret recipe for soup").videos.get()


def _urls(link: ShareLink) -> dict[str, str]:
    token = services.share_token(link)
    return {
        name: reverse(name, args=[token]) for name in ("share_public", "share_file", "share_poster")
    }


def _make(owner_client, video, **data) -> ShareLink:
    response = owner_client.post(reverse("share_new", args=[video.pk]), data)
    assert response.status_code == 302
    return ShareLink.objects.get(video=video)


def test_a_watermarked_owners_link_serves_the_delivery_copy_never_the_master(
    client, owner_client, shared_video
):
    link = _make(owner_client, shared_video)
    urls = _urls(link)
    served = b"".join(client.get(urls["share_file"]).streaming_content)
    download = client.get(urls["share_file"] + "?download=1")
    assert download["Content-Disposition"].startswith("attachment")
    assert served == shared_video.delivery.read()
    assert served != shared_video.file.read()
    assert b"".join(download.streaming_content) == served
    ranged = client.get(urls["share_file"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206


def test_a_watermark_free_owners_link_serves_the_master(client, user):
    put_on_plan(user, "Pro")
    video = make_finished(user, prompt="a clean copy").videos.get()
    link = services.share_create(owner=user, video=video, show_prompt=False, expires_at=None)
    served = b"".join(client.get(_urls(link)["share_file"]).streaming_content)
    assert served == video.file.read()


def test_the_public_page_shows_the_prompt_only_when_the_owner_ticked_it(
    client, owner_client, user, shared_video
):
    hidden = _make(owner_client, shared_video)
    html = client.get(_urls(hidden)["share_public"]).content.decode()
    assert "a secret recipe for soup" not in html
    assert "Content Credentials" in html and "Valid" in html
    shown = services.share_create(owner=user, video=shared_video, show_prompt=True, expires_at=None)
    html = client.get(_urls(shown)["share_public"]).content.decode()
    assert "a secret recipe for soup" in html


def test_the_public_page_has_open_graph_tags_and_names_no_video_id(client, user, shared_video):
    other = make_finished(user, prompt="another video").videos.get()
    link = services.share_create(owner=user, video=shared_video, show_prompt=False, expires_at=None)
    urls = _urls(link)
    html = client.get(urls["share_public"]).content.decode()
    assert f'<meta property="og:image" content="http://testserver{urls["share_poster"]}">' in html
    assert '<meta property="og:video:type" content="video/mp4">' in html
    assert str(other.pk) not in html and str(other.generation_id) not in html
    assert str(shared_video.pk) not in html
    poster = client.get(urls["share_poster"])
    assert poster["Content-Type"] == "image/jpeg"


def test_a_revoked_link_answers_404_everywhere(client, owner_client, user, shared_video):
    link = _make(owner_client, shared_video)
    urls = _urls(link)
    assert client.get(urls["share_public"]).status_code == 200
    shared_page = owner_client.get(reverse("shared")).content.decode()
    assert urls["share_public"] in shared_page
    owner_client.post(reverse("share_revoke", args=[link.pk]))
    for url in urls.values():
        assert client.get(url).status_code == 404, url
    assert "Revoked" in owner_client.get(reverse("shared")).content.decode()


def test_an_expired_link_answers_404(client, user, shared_video):
    link = services.share_create(
        owner=user,
        video=shared_video,
        show_prompt=False,
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    urls = _urls(link)
    assert client.get(urls["share_public"]).status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for url in urls.values():
        assert client.get(url).status_code == 404, url


def test_a_forged_or_tampered_token_answers_404(client, user, shared_video):
    link = services.share_create(owner=user, video=shared_video, show_prompt=False, expires_at=None)
    token = services.share_token(link)
    for bad in (str(link.pk), token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x:y"):
        assert client.get(reverse("share_public", args=[bad])).status_code == 404, bad


def test_an_expiry_in_the_past_is_refused_with_a_message(owner_client, shared_video):
    response = owner_client.post(
        reverse("share_new", args=[shared_video.pk]), {"expires_in_days": "0"}
    )
    assert response.status_code == 200
    assert "greater than or equal to 1" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_share_pages_are_rate_limited(client, user, shared_video, settings):
    settings.STUDIO_SHARE_RATE_LIMIT = 3
    link = services.share_create(owner=user, video=shared_video, show_prompt=False, expires_at=None)
    url = _urls(link)["share_public"]
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    # A stranger guessing tokens is limited the same way.
    assert client.get(reverse("share_public", args=["guess"])).status_code == 429


def test_admin_revokes_links_with_an_action(admin_client, user, shared_video):
    link = services.share_create(owner=user, video=shared_video, show_prompt=False, expires_at=None)
    response = admin_client.post(
        reverse("admin:library_sharelink_changelist"),
        {"action": "revoke", "_selected_action": [str(link.pk)]},
        follow=True,
    )
    assert "1 link(s) revoked." in response.content.decode()
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert admin_client.get(reverse("admin:library_folder_changelist")).status_code == 200


def test_making_and_revoking_a_link_is_in_the_audit_trail(owner_client, user, shared_video):
    link = _make(owner_client, shared_video, show_prompt="on")
    made = AuditRecord.objects.get(action="share_link.created")
    assert (made.actor_id, made.target_type, made.target_id) == (
        user.pk,
        "library.sharelink",
        str(link.pk),
    )
    assert made.detail["video"] == str(shared_video.pk) and made.detail["show_prompt"] is True
    assert made.ip == "127.0.0.1"
    assert not AuditRecord.objects.filter(action="share_link.revoked").exists()
    owner_client.post(reverse("share_revoke", args=[link.pk]))
    owner_client.post(reverse("share_revoke", args=[link.pk]))  # already revoked: no record
    revoked = AuditRecord.objects.get(action="share_link.revoked")
    assert (revoked.actor_id, revoked.target_id) == (user.pk, str(link.pk))


def test_an_operators_revoke_is_recorded_as_theirs(admin_client, admin_user, user, shared_video):
    link = services.share_create(owner=user, video=shared_video, show_prompt=False, expires_at=None)
    admin_client.post(
        reverse("admin:library_sharelink_changelist"),
        {"action": "revoke", "_selected_action": [str(link.pk)]},
    )
    revoked = AuditRecord.objects.get(action="share_link.revoked")
    assert revoked.actor_id == admin_user.pk and revoked.detail["owner"] == user.pk
