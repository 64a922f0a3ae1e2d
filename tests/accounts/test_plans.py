"""Plans: the dashboard shows what a plan allows and what is left; the server refuses the
rest; priority and concurrent-job counting hold under real simultaneous requests."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import plans
from accounts.models import Plan
from generations import selectors, services
from generations.models import Generation
from generations.spec import GenerationSpec
from generations.states import State
from tests.conftest import put_on_plan
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def _post(client, **fields):
    data = {
        "prompt": "a heron in the reeds",
        "resolution": "480p",
        "aspect_ratio": "16:9",
        "seconds": 2,
        "variations": 1,
        "provider": "offline",
    }
    data.update(fields)
    return client.post(reverse("generate"), data, headers={"HX-Request": "true"})


def test_new_accounts_get_the_default_plan_shaped_like_sora_plus(user):
    plan = plans.account_get_for_user(user).plan
    assert (plan.name, plan.max_resolution, plan.max_seconds) == ("Plus", "720p", 10)
    assert (plan.priority_per_month, plan.concurrent_jobs, plan.watermark_free) == (50, 1, False)
    pro = Plan.objects.get(name="Pro")
    assert (pro.max_resolution, pro.max_seconds, pro.priority_per_month) == ("1080p", 20, None)
    assert (pro.concurrent_jobs, pro.watermark_free) == (5, True)


def test_the_dashboard_shows_the_plan_and_disables_what_it_does_not_allow(owner_client, user):
    make_generation(user, priority=True, state=State.SUCCEEDED)
    html = owner_client.get(reverse("dashboard")).content.decode()
    summary = re.sub(r"\s+", " ", re.search(r'id="plan-summary">(.*?)</p>', html, re.S)[1])
    assert "Plus plan" in summary and "up to 720p, 10 s" in summary
    assert "49 of 50 priority generations left this month" in summary
    assert "visible watermark" in summary
    assert re.search(r'<option value="1080p"[^>]*disabled', html)
    assert not re.search(r'<option value="720p"[^>]*disabled', html)
    assert re.search(r'<option value="4"[^>]*disabled', html)
    assert 'data-plan-max="10"' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("resolution", "1080p", "Your Plus plan makes video up to 720p."),
        ("seconds", 15, "Your Plus plan makes clips up to 10 seconds."),
        ("variations", 4, "Your Plus plan makes up to 2 variations at a time."),
    ],
)
def test_settings_outside_the_plan_are_refused_with_a_plain_message(
    owner_client, field, value, message
):
    response = _post(owner_client, **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Generation.objects.exists()


def test_a_model_outside_the_plan_is_refused(owner_client, user):
    plan = plans.account_get_for_user(user).plan
    plan.allowed_models = "diffusers"
    plan.save()
    response = _post(owner_client)
    assert "Your Plus plan does not include this model." in response.content.decode()
    assert not Generation.objects.exists()
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert re.search(r'<option value="offline"[^>]*disabled[^>]*>[^<]*not in your plan', html)


def test_the_pro_plan_allows_1080p_and_20_seconds(owner_client, user):
    put_on_plan(user, "Pro")
    _post(owner_client, resolution="1080p", seconds=20, variations=4)
    generation = Generation.objects.get()
    assert (generation.resolution, generation.seconds, generation.variations) == (
        "1080p",
        20,
        4,
    )


def test_priority_jobs_use_the_priority_queue_until_the_month_runs_out(
    user, django_capture_on_commit_callbacks
):
    plan = plans.account_get_for_user(user).plan
    plan.priority_per_month, plan.concurrent_jobs = 1, 5
    plan.save()
    first = services.generation_create(owner=user, spec=GenerationSpec(prompt="one", priority=True))
    second = services.generation_create(
        owner=user, spec=GenerationSpec(prompt="two", priority=True)
    )
    assert (first.priority, first.queue) == (True, "priority")
    assert (second.priority, second.queue) == (False, "standard")
    assert "no priority generations left" in second.events.get(to_state=State.QUEUED).message


def test_priority_used_last_month_or_on_failed_jobs_does_not_count(user):
    old = make_generation(user, priority=True, state=State.SUCCEEDED)
    Generation.objects.filter(pk=old.pk).update(
        created_at=plans.month_start() - timedelta(minutes=1)
    )
    make_generation(user, priority=True, state=State.FAILED)
    make_generation(user, priority=True, state=State.REJECTED)
    assert selectors.generation_count_priority(user.pk) == 0
    make_generation(user, priority=True, state=State.CANCELED)
    assert selectors.generation_count_priority(user.pk) == 1


def test_no_priority_left_disables_the_toggle_and_says_so(owner_client, user):
    plan = plans.account_get_for_user(user).plan
    plan.priority_per_month = 0
    plan.save()
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert re.search(r'<input type="checkbox" name="priority"[^>]*disabled', html)
    assert "none left this month: jobs run on the standard queue" in html


def test_jobs_over_the_concurrent_limit_wait_in_the_queue_and_go_when_a_slot_frees(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as sent:
        first = services.generation_create(owner=user, spec=GenerationSpec(prompt="one"))
        second = services.generation_create(owner=user, spec=GenerationSpec(prompt="two"))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.admitted_at is not None and first.deadline_at is not None
    assert second.admitted_at is None and second.state == State.QUEUED
    assert len(sent) == 1  # only the first job went to the workers

    services.generation_submit(second.pk)  # a stray message for a waiting job does nothing
    assert Generation.objects.get(pk=second.pk).state == State.QUEUED

    with django_capture_on_commit_callbacks(execute=True):
        services.generation_cancel(generation=first, by=user)
    second.refresh_from_db()
    assert second.admitted_at is not None
    assert "slot came free" in second.events.last().message


def test_the_reaper_admits_waiting_jobs_whose_message_was_lost(user):
    waiting = make_generation(user, state=State.QUEUED, admitted_at=None, queued_at=timezone.now())
    assert services.generation_reap()["resumed"] == 1
    waiting.refresh_from_db()
    assert waiting.admitted_at is not None


def test_the_job_card_says_a_waiting_job_waits_for_a_slot(owner_client, user):
    waiting = make_generation(user, state=State.QUEUED, admitted_at=None)
    html = owner_client.get(reverse("generation_card", args=[waiting.pk])).content.decode()
    assert "Waiting for a free slot" in html


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_submits_take_one_priority_generation_and_one_slot(
    live_server, django_user_model
):
    """Real HTTP requests at once against the live server (PostgreSQL in CI): with one
    priority generation left and one concurrent-job slot, exactly one job gets each."""
    user = django_user_model.objects.create_user("racer", password="pw-racer-123")
    plan = plans.account_get_for_user(user).plan
    plan.priority_per_month = 50
    plan.save()
    for _ in range(49):
        make_generation(user, priority=True, state=State.SUCCEEDED)
    assert selectors.usage_get_for_user(user).priority_left == 1

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar := http.cookiejar.CookieJar())
    )
    login = opener.open(f"{live_server.url}{reverse('login')}").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)[1]
    body = urllib.parse.urlencode(
        {"username": "racer", "password": "pw-racer-123", "csrfmiddlewaretoken": token}
    ).encode()
    opener.open(f"{live_server.url}{reverse('login')}", body).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {
            "prompt": "a race of snails",
            "resolution": "480p",
            "aspect_ratio": "1:1",
            "seconds": 1,
            "variations": 1,
            "provider": "offline",
            "priority": "on",
            "csrfmiddlewaretoken": csrf,
        }
    ).encode()
    start = threading.Barrier(20)
    statuses: list[int] = []

    def submit() -> None:
        request = urllib.request.Request(
            f"{live_server.url}{reverse('generate')}",
            data=form,
            headers={"X-CSRFToken": csrf, "HX-Request": "true", "Referer": live_server.url},
        )
        start.wait()
        with opener.open(request) as response:
            statuses.append(response.status)
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert statuses == [200] * 20
    made = Generation.objects.filter(owner=user, state=State.QUEUED)
    assert made.count() == 20
    assert made.filter(priority=True).count() == 1
    assert made.filter(admitted_at__isnull=False).count() == 1
    assert made.filter(admitted_at__isnull=False, priority=True).count() == 1
