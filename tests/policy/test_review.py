"""Reports and the review queue: anyone with a share link (or a team member) reports a
video, rate-limited; an operator hides it in admin and its share link answers 404 at once;
the creator sees the notice in the app; restore brings the link back; repeated refusals
suspend generation until an operator reinstates the account; each decision is audited."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.plans import account_get_for_user
from audit.models import AuditRecord
from generations.models import Generation
from library import services as library
from policy.models import Notice, PolicySettings, Refusal, ReviewItem, Rule
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("op", "op@example.com", "pw-op-123")


@pytest.fixture
def shared(user):
    video = make_finished(user, prompt="a lantern festival at night").videos.get()
    link = library.share_create(owner=user, video=video, show_prompt=False, expires_at=None)
    return video, library.share_token(link)


def _report(client, token, **data):
    return client.post(reverse("share_report", args=[token]), {"reason": "violence", **data})


def _admin_action(client, action, items):
    return client.post(
        reverse("admin:policy_reviewitem_changelist"),
        {"action": action, "_selected_action": [i.pk for i in items]},
    )


def test_anyone_with_the_link_reports_the_video_into_the_review_queue(client, shared, user):
    video, token = shared
    assert client.get(reverse("share_public", args=[token])).status_code == 200
    response = _report(client, token, text="graphic scene at 0:01")
    assert response.status_code == 200
    assert "An operator will look at this video" in response.content.decode()
    item = ReviewItem.objects.get()
    assert (item.kind, item.reason, item.text) == ("report", "violence", "graphic scene at 0:01")
    assert (item.video_id, item.creator_id, item.reporter_id) == (video.pk, user.pk, None)
    assert item.reporter_ip == "127.0.0.1" and item.state == "open"


def test_reports_are_rate_limited_per_address(client, user):
    PolicySettings.objects.update_or_create(pk=1, defaults={"reports_per_hour": 2})
    tokens = []
    for n in range(3):
        video = make_finished(user, prompt=f"clip {n}", seed=n).videos.get()
        link = library.share_create(owner=user, video=video, show_prompt=False, expires_at=None)
        tokens.append(library.share_token(link))
    for token in tokens[:2]:
        assert "An operator will look" in _report(client, token).content.decode()
    refused = _report(client, tokens[2])
    assert "several reports in the last hour" in refused.content.decode()
    assert ReviewItem.objects.count() == 2
    _report(client, tokens[0])  # the same report again is not a second item
    assert ReviewItem.objects.count() == 2


def test_a_hidden_videos_share_link_answers_404_at_once_and_the_creator_is_told(
    client, shared, user, operator
):
    video, token = shared
    _report(client, token)
    urls = [reverse(name, args=[token]) for name in ("share_public", "share_file", "share_report")]
    assert [client.get(u).status_code for u in urls] == [200, 200, 200]

    client.force_login(operator)
    response = _admin_action(client, "hide", ReviewItem.objects.all())
    assert response.status_code == 302
    client.logout()
    assert [client.get(u).status_code for u in urls] == [404, 404, 404]
    item = ReviewItem.objects.get()
    assert (item.state, item.outcome, item.decided_by_id) == ("closed", "hidden", operator.pk)
    hidden = AuditRecord.objects.get(action="video.hidden")
    assert (hidden.actor_name, hidden.target_id) == ("op", str(video.pk))

    client.force_login(user, backend="accounts.backends.CachedModelBackend")
    page = client.get(reverse("dashboard")).content.decode()
    assert "Your video “a lantern festival at night” was hidden after a review" in page
    notice = Notice.objects.get(user=user)
    client.post(reverse("notice_seen", args=[notice.pk]), {"next": "/"})
    assert "was hidden after a review" not in client.get(reverse("dashboard")).content.decode()
    assert "was hidden after a review" in client.get(reverse("notices")).content.decode()


def test_restoring_brings_the_link_back_and_tells_the_creator(client, shared, user, operator):
    video, token = shared
    _report(client, token)
    client.force_login(operator)
    _admin_action(client, "hide", ReviewItem.objects.all())
    ReviewItem.objects.create(kind="report", reason="other", video=video, creator=user)
    _admin_action(client, "restore", ReviewItem.objects.filter(state="open"))
    client.logout()
    assert client.get(reverse("share_public", args=[token])).status_code == 200
    texts = list(Notice.objects.filter(user=user).values_list("text", flat=True))
    assert any("was restored" in t for t in texts)


def test_suspending_the_creator_from_the_queue_stops_their_generation(
    client, shared, user, operator
):
    _, token = shared
    _report(client, token)
    client.force_login(operator)
    _admin_action(client, "suspend", ReviewItem.objects.all())
    assert account_get_for_user(user).suspended_at is not None
    client.force_login(user)
    before = Generation.objects.count()
    response = client.post(
        reverse("generate"),
        {
            "prompt": "a calm sea",
            "resolution": "480p",
            "aspect_ratio": "16:9",
            "seconds": 2,
            "variations": 1,
            "provider": "offline",
        },
        headers={"HX-Request": "true"},
    )
    assert "Generation is suspended for this account" in response.content.decode()
    assert Generation.objects.count() == before
    assert AuditRecord.objects.filter(action="account.suspended", actor_name="op").exists()


def _generate(client, prompt):
    return client.post(
        reverse("generate"),
        {
            "prompt": prompt,
            "resolution": "480p",
            "aspect_ratio": "16:9",
            "seconds": 2,
            "variations": 1,
            "provider": "offline",
        },
        headers={"HX-Request": "true"},
    )


def test_refusals_above_the_operators_count_suspend_generation_until_reinstated(
    client, user, operator
):
    PolicySettings.objects.update_or_create(
        pk=1, defaults={"refusals_before_suspension": 2, "refusal_window_minutes": 60}
    )
    Rule.objects.create(name="weapons", patterns="crossbow", public_reason="No weapons here.")
    client.force_login(user)
    for _ in range(2):
        assert "No weapons here." in _generate(client, "a crossbow at dawn").content.decode()
    assert account_get_for_user(user).suspended_at is None  # two is not above two
    third = _generate(client, "a crossbow at dusk").content.decode()
    assert "No weapons here." in third
    account = account_get_for_user(user)
    assert account.suspended_at is not None
    assert account.suspended_reason == "3 refusals within 60 minutes"
    flag = ReviewItem.objects.get()
    assert (flag.kind, flag.reason, flag.creator_id, flag.state) == (
        "flag",
        "refusals",
        user.pk,
        "open",
    )
    clean = _generate(client, "a quiet meadow").content.decode()
    assert "Generation is suspended for this account until an operator reviews it" in clean
    assert not Generation.objects.exists()
    assert "suspended for your account" in client.get(reverse("dashboard")).content.decode()
    assert Refusal.objects.filter(user=user).count() == 3
    suspended = AuditRecord.objects.get(action="account.suspended")
    assert suspended.actor_name == "system"

    client.force_login(operator)
    _admin_action(client, "reinstate", [flag])
    client.force_login(user)
    _generate(client, "a quiet meadow")
    assert Generation.objects.filter(owner=user).count() == 1
    flag.refresh_from_db()
    assert (flag.state, flag.outcome) == ("closed", "reinstated")
    assert AuditRecord.objects.filter(action="account.reinstated", actor_name="op").exists()


def test_old_refusals_outside_the_window_do_not_count(client, user):
    from datetime import timedelta

    from django.utils import timezone

    PolicySettings.objects.update_or_create(
        pk=1, defaults={"refusals_before_suspension": 1, "refusal_window_minutes": 10}
    )
    Rule.objects.create(name="weapons", patterns="crossbow")
    old = Refusal.objects.create(user=user, stage="prompt", rule="r", reason="r")
    Refusal.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(minutes=11))
    client.force_login(user)
    _generate(client, "a crossbow")
    assert account_get_for_user(user).suspended_at is None


def test_a_team_member_reports_a_video_shared_with_the_team(client, user, other_user):
    from library.models import Entry, Folder
    from teams import services as teams
    from teams.models import Membership

    team = teams.team_create(
        name="Acme", plan=account_get_for_user(user).plan, owner=other_user, by=None
    )
    Membership.objects.create(team=team, user=user)
    video = make_finished(other_user).videos.get()
    folder = Folder.objects.create(owner=other_user, team=team, name="Campaign")
    Entry.objects.create(owner=other_user, generation=video.generation, folder=folder)
    client.force_login(user)
    url = reverse("team_video_report", args=[team.pk, video.pk])
    response = client.post(url, {"reason": "real-person", "text": "that is my neighbour"})
    assert response.status_code == 302
    item = ReviewItem.objects.get()
    assert (item.reporter_id, item.creator_id, item.reason) == (
        user.pk,
        other_user.pk,
        "real-person",
    )
