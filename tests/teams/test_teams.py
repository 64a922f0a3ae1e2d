"""Teams: members share the team plan's quotas (20 simultaneous generates by 4 members over
real HTTP get exactly the jobs left), viewers cannot generate, every team route is a 404 to
non-members, roles are guarded and audited, videos stay private until shared, and leaving
never deletes a video."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import Plan
from accounts.plans import plan_default
from audit.models import AuditRecord
from generations.models import Generation, Video
from generations.states import State
from library.models import Entry, Folder
from teams import services
from teams.models import Membership, Team
from tests.factories import make_generation
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db
Role = Membership.Role


def _team_plan(**fields) -> Plan:
    plan_default()  # seeds the plans a transactional test emptied
    defaults = {
        "max_resolution": "720p",
        "max_seconds": 10,
        "max_variations": 2,
        "concurrent_jobs": 1,
        "jobs_per_day": 5,
        "priority_per_month": None,
    }
    defaults.update(fields)
    return Plan.objects.create(name="Team", **defaults)


def _team(owner, **plan_fields) -> Team:
    return services.team_create(name="Acme", plan=_team_plan(**plan_fields), owner=owner, by=None)


def _join(team, user, role=Role.MEMBER) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


def _form(team_id, **fields):
    data = {
        "prompt": "a heron in the reeds",
        "resolution": "480p",
        "aspect_ratio": "16:9",
        "seconds": 2,
        "variations": 1,
        "provider": "offline",
        "team": team_id,
    }
    data.update(fields)
    return data


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_generates_by_four_members_take_exactly_the_three_jobs_left(
    live_server, django_user_model
):
    """Real HTTP requests at once against the live server (PostgreSQL in CI): a team plan of
    5 jobs a day with 2 used leaves 3; 4 members send 5 each, all at once."""
    people = [
        django_user_model.objects.create_user(f"member{i}", password=f"pw-member-{i}")
        for i in range(4)
    ]
    team = _team(people[0], jobs_per_day=5, concurrent_jobs=1)
    for person in people[1:]:
        _join(team, person)
    for _ in range(2):
        make_generation(people[0], state=State.SUCCEEDED, team=team)

    def session(user):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{live_server.url}{reverse('login')}").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urllib.parse.urlencode(
            {
                "username": user.username,
                "password": f"pw-{user.username[:-1]}-{user.username[-1]}",
                "csrfmiddlewaretoken": token,
            }
        ).encode()
        opener.open(f"{live_server.url}{reverse('login')}", body).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        return opener, csrf

    sessions = [session(person) for person in people]
    start = threading.Barrier(20)
    results: list[tuple[int, str]] = []

    def submit(opener, csrf) -> None:
        request = urllib.request.Request(
            f"{live_server.url}{reverse('generate')}",
            data=urllib.parse.urlencode({**_form(team.pk), "csrfmiddlewaretoken": csrf}).encode(),
            headers={"X-CSRFToken": csrf, "HX-Request": "true", "Referer": live_server.url},
        )
        start.wait()
        with opener.open(request) as response:
            results.append((response.status, response.read().decode()))
        connection.close()

    threads = [threading.Thread(target=submit, args=sessions[i % 4]) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [status for status, _ in results] == [200] * 20
    refused = [body for _, body in results if "starts up to 5 generations a day" in body]
    assert len(refused) == 17
    assert "Acme&#x27;s Team plan starts up to 5" in refused[0]
    made = Generation.objects.filter(team=team, state=State.QUEUED)
    assert made.count() == 3
    assert Generation.objects.filter(team__isnull=True).count() == 0  # no one's own quota
    # The team's one concurrent-job slot went to exactly one of them.
    assert made.filter(admitted_at__isnull=False).count() == 1


def test_a_viewer_cannot_generate_on_the_team_plan(client, user, other_user):
    team = _team(other_user)
    _join(team, user, Role.VIEWER)
    client.force_login(user)
    response = client.post(reverse("generate"), _form(team.pk), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "viewers cannot generate on its plan" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_member_generates_on_the_team_plan_and_not_on_their_own(client, user, other_user):
    team = _team(other_user, jobs_per_day=1)
    _join(team, user)
    own = plan_default()
    own.jobs_per_day = 1
    own.save()
    client.force_login(user)
    client.post(reverse("generate"), _form(team.pk), headers={"HX-Request": "true"})
    job = Generation.objects.get()
    assert (job.team_id, job.owner_id) == (team.pk, user.pk)
    again = client.post(reverse("generate"), _form(team.pk), headers={"HX-Request": "true"})
    assert "Acme&#x27;s Team plan starts up to 1 generations a day" in again.content.decode()
    # Their own plan's day is untouched by the team job.
    client.post(reverse("generate"), _form(""), headers={"HX-Request": "true"})
    assert Generation.objects.filter(owner=user, team__isnull=True).count() == 1
    page = client.get(reverse("team_jobs", args=[team.pk])).content.decode()
    assert "0 of 1 jobs left today" in page
    assert job.prompt in page  # the member's own job shows its prompt


def test_a_team_job_ending_frees_the_teams_slot_for_another_members_job(
    user, other_user, django_capture_on_commit_callbacks
):
    from generations import services as generations
    from generations.spec import GenerationSpec

    team = _team(other_user, jobs_per_day=None, concurrent_jobs=1)
    _join(team, user)
    with django_capture_on_commit_callbacks(execute=True):
        first = generations.generation_create(
            owner=other_user, spec=GenerationSpec(prompt="one", team_id=team.pk)
        )
        second = generations.generation_create(
            owner=user, spec=GenerationSpec(prompt="two", team_id=team.pk)
        )
    second.refresh_from_db()
    assert first.admitted_at is not None and second.admitted_at is None
    with django_capture_on_commit_callbacks(execute=True):
        generations.generation_cancel(generation=first, by=other_user)
    second.refresh_from_db()
    assert second.admitted_at is not None


TEAM_ROUTES = [
    ("get", "team_detail", ()),
    ("post", "team_member_add", ()),
    ("post", "team_member_role", ("membership",)),
    ("post", "team_member_remove", ("membership",)),
    ("post", "team_leave", ()),
    ("get", "team_jobs", ()),
    ("get", "team_folders", ()),
    ("post", "team_folder_create", ()),
    ("get", "team_folder", ("folder",)),
    ("post", "team_folder_delete", ("folder",)),
    ("get", "team_video_file", ("video",)),
    ("get", "team_video_report", ("video",)),
    ("post", "team_video_report", ("video",)),
]


@pytest.fixture
def shared_team(user, other_user):
    """``other_user`` owns Acme and shares a finished video in its folder; ``user`` is not in
    it."""
    team = _team(other_user)
    folder = Folder.objects.create(owner=other_user, team=team, name="Campaign")
    video = make_finished(other_user).videos.get()
    Entry.objects.create(owner=other_user, generation=video.generation, folder=folder)
    ids = {"membership": team.memberships.get().pk, "folder": folder.pk, "video": video.pk}
    return team, ids


@pytest.mark.parametrize(("method", "name", "extra"), TEAM_ROUTES)
def test_a_non_member_gets_404_on_every_team_route(
    client, user, other_user, shared_team, method, name, extra
):
    team, ids = shared_team
    url = reverse(name, args=[team.pk, *(ids[key] for key in extra)])
    data = {"name": "Mine", "role": "owner", "who": user.username, "reason": "spam"}
    member = client
    member.force_login(other_user)
    if method == "get":  # the route exists and answers its members
        assert member.get(url).status_code == 200
    client.force_login(user)
    response = getattr(client, method)(url, data)
    assert response.status_code == 404
    assert Membership.objects.filter(team=team).count() == 1
    assert Folder.objects.filter(team=team).count() == 1


def test_a_members_video_stays_private_until_moved_into_a_shared_folder(client, user, other_user):
    team = _team(other_user)
    _join(team, user)
    video = make_finished(other_user, prompt="a private sketch").videos.get()
    folder = Folder.objects.create(owner=other_user, team=team, name="Campaign")
    client.force_login(user)
    assert client.get(reverse("video_detail", args=[video.pk])).status_code == 404
    assert client.get(reverse("team_video_file", args=[team.pk, video.pk])).status_code == 404
    assert (
        "a private sketch" not in client.get(reverse("team_jobs", args=[team.pk])).content.decode()
    )

    client.force_login(other_user)
    moved = client.post(
        reverse("library_bulk"),
        {"action": "move", "folder": folder.pk, "ids": [str(video.generation_id)]},
    )
    assert moved.status_code == 302
    client.force_login(user)
    page = client.get(reverse("team_folder", args=[team.pk, folder.pk])).content.decode()
    assert "a private sketch" in page
    served = client.get(reverse("team_video_file", args=[team.pk, video.pk]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == video.delivery.read()


def test_a_viewer_cannot_put_videos_in_a_shared_folder(client, user, other_user):
    team = _team(other_user)
    _join(team, user, Role.VIEWER)
    folder = Folder.objects.create(owner=other_user, team=team, name="Campaign")
    generation = make_generation(user, state=State.SUCCEEDED)
    client.force_login(user)
    response = client.post(
        reverse("library_bulk"),
        {"action": "move", "folder": folder.pk, "ids": [str(generation.pk)]},
    )
    assert response.status_code == 404
    assert not Entry.objects.filter(folder=folder).exists()
    made = client.post(reverse("team_folder_create", args=[team.pk]), {"name": "Mine"})
    assert made.status_code == 302
    assert not Folder.objects.filter(team=team, name="Mine").exists()


def test_leaving_keeps_every_video_and_takes_the_shared_ones_out_of_the_team(
    client, user, other_user
):
    team = _team(other_user)
    mine = _join(team, user)
    video = make_finished(user, prompt="my part of the campaign").videos.get()
    folder = Folder.objects.create(owner=other_user, team=team, name="Campaign")
    Entry.objects.create(owner=user, generation=video.generation, folder=folder)
    client.force_login(other_user)
    page = client.get(reverse("team_folder", args=[team.pk, folder.pk])).content.decode()
    assert "my part of the campaign" in page

    client.force_login(user)
    response = client.post(reverse("team_leave", args=[team.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=mine.pk).exists()
    assert Video.objects.filter(pk=video.pk).exists()
    assert Entry.objects.get(generation=video.generation).folder is None
    client.force_login(other_user)
    page = client.get(reverse("team_folder", args=[team.pk, folder.pk])).content.decode()
    assert "my part of the campaign" not in page
    assert AuditRecord.objects.filter(action="team.member_left", target_id=str(team.pk)).exists()


def test_admins_manage_members_and_viewers_but_not_owners(
    client, user, other_user, django_user_model
):
    team = _team(other_user)
    admin_membership = _join(team, user, Role.ADMIN)
    third = django_user_model.objects.create_user("cy", email="cy@example.com", password="pw")
    owner_membership = team.memberships.get(user=other_user)
    client.force_login(user)
    client.post(
        reverse("team_member_add", args=[team.pk]), {"who": "cy@example.com", "role": "owner"}
    )
    assert not Membership.objects.filter(team=team, user=third).exists()
    client.post(reverse("team_member_add", args=[team.pk]), {"who": "cy", "role": "viewer"})
    added = Membership.objects.get(team=team, user=third)
    assert added.role == Role.VIEWER
    client.post(reverse("team_member_role", args=[team.pk, added.pk]), {"role": "member"})
    added.refresh_from_db()
    assert added.role == Role.MEMBER
    client.post(
        reverse("team_member_role", args=[team.pk, owner_membership.pk]), {"role": "viewer"}
    )
    client.post(reverse("team_member_remove", args=[team.pk, owner_membership.pk]))
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER
    change = AuditRecord.objects.get(action="team.role_changed")
    assert (change.actor_name, change.detail["old"], change.detail["new"]) == (
        "ada",
        "viewer",
        "member",
    )
    assert admin_membership.can_manage


def test_the_last_owner_cannot_leave_or_be_demoted(client, other_user):
    team = _team(other_user)
    client.force_login(other_user)
    response = client.post(reverse("team_leave", args=[team.pk]), follow=True)
    assert "A team needs an owner" in response.content.decode()
    assert team.memberships.filter(user=other_user, role=Role.OWNER).exists()


def test_an_operators_team_plan_and_role_changes_in_admin_are_audited(
    client, user, other_user, django_user_model
):
    operator = django_user_model.objects.create_superuser("op", "op@example.com", "pw-op-123")
    team = _team(other_user)
    member = _join(team, user, Role.VIEWER)
    owner = team.memberships.get(user=other_user)
    pro = Plan.objects.get(name="Pro")
    client.force_login(operator)
    response = client.post(
        reverse("admin:teams_team_change", args=[team.pk]),
        {
            "name": "Acme",
            "plan": pro.pk,
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "2",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": owner.pk,
            "memberships-0-team": team.pk,
            "memberships-0-user": other_user.pk,
            "memberships-0-role": "owner",
            "memberships-1-id": member.pk,
            "memberships-1-team": team.pk,
            "memberships-1-user": user.pk,
            "memberships-1-role": "admin",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = AuditRecord.objects.get(action="team.plan_changed")
    assert (plan.actor_name, plan.detail) == ("op", {"old": "Team", "new": "Pro"})
    role = AuditRecord.objects.get(action="team.role_changed")
    assert role.detail == {"member": "ada", "old": "viewer", "new": "admin"}


def test_an_outsider_cannot_generate_on_a_team_plan(client, user, other_user):
    from django.core.exceptions import ValidationError

    from generations import services as generations
    from generations.spec import GenerationSpec

    team = _team(other_user)
    client.force_login(user)
    response = client.post(reverse("generate"), _form(team.pk), headers={"HX-Request": "true"})
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        generations.generation_create(owner=user, spec=GenerationSpec(prompt="x", team_id=team.pk))
    assert refused.value.message_dict == {"team": ["No such team."]}
    assert not Generation.objects.exists()
