"""Compare: from the composer, one prompt goes to two or more chosen models at once, each
its own generation sharing one group, and the group's page shows them side by side (with a
sound mark and one mute toggle). All or nothing: a model that refuses names itself and no
generation is saved. Another creator's group is a 404."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from generations.models import Generation
from generations.states import State
from providers.runway.models import RunwayAccount
from tests.providers.runway.server import API_KEY, RunwayServer
from tests.providers.steps import run

pytestmark = pytest.mark.django_db

PAIR = ["runway:gen4.5", "runway:kling2.5_turbo_pro"]


@pytest.fixture
def server() -> Iterator[RunwayServer]:
    with RunwayServer() as fake:
        yield fake


@pytest.fixture
def account(server: RunwayServer) -> RunwayAccount:
    return RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)


@pytest.fixture
def creator(client, user):
    client.force_login(user, backend="accounts.backends.CachedModelBackend")
    return client


def _compare(client, models, headers=None, **fields):
    data = {
        "prompt": "a paper boat in the rain",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "seconds": 5,
        "variations": 1,
        "provider": models[0] if models else "runway:gen4.5",
        "compare": models,
        "action": "compare",
    }
    data.update(fields)
    return client.post("/generate/", data, headers=headers or {})


def test_compare_makes_one_generation_per_model_and_shows_them_side_by_side(
    account, server, creator, pro_user
):
    user = pro_user  # room for both jobs at once
    response = _compare(creator, PAIR)

    assert response.status_code == 302
    jobs = list(Generation.objects.filter(owner=user).order_by("created_at"))
    assert [(j.provider, j.model) for j in jobs] == [
        ("runway", "gen4.5"),
        ("runway", "kling2.5_turbo_pro"),
    ]
    group = jobs[0].compare_group
    assert group is not None and jobs[1].compare_group == group
    assert response["Location"] == f"/compare/{group}/"
    assert {j.prompt for j in jobs} == {"a paper boat in the rain"}

    for job in jobs:
        assert run(job).state == State.SUCCEEDED, job.error_message
    assert server.creates() == 2
    page = creator.get(f"/compare/{group}/").content.decode()
    assert len(re.findall(r"<video ", page)) == 2
    assert page.index("gen4.5") < page.index("kling2.5_turbo_pro")
    assert 'class="button mute-toggle"' in page
    detail = creator.get(f"/generations/{jobs[0].pk}/").content.decode()
    assert f'href="/compare/{group}/"' in detail


def test_compare_over_htmx_redirects_the_page_to_the_group(account, creator, user):
    response = _compare(creator, PAIR, headers={"HX-Request": "true"})
    group = Generation.objects.filter(owner=user).first().compare_group
    assert response["HX-Redirect"] == f"/compare/{group}/"


def test_a_model_that_refuses_names_itself_and_nothing_is_saved(account, server, creator, user):
    response = _compare(creator, ["runway:gen4.5", "runway:veo3.1"])  # veo3.1 makes no 5 s

    assert response.status_code == 200
    body = response.content.decode()
    assert "runway:veo3.1: This model makes clips of 4, 6, 8 seconds." in body
    assert not Generation.objects.filter(owner=user).exists()
    assert server.creates() == 0


def test_compare_needs_two_models(account, creator, user):
    response = _compare(creator, ["runway:gen4.5"])
    assert "Choose 2 to 4 models to compare." in response.content.decode()
    assert not Generation.objects.filter(owner=user).exists()


def test_another_creators_group_is_a_404(account, creator, user, other_user, client):
    _compare(creator, PAIR)
    group = Generation.objects.filter(owner=user).first().compare_group
    client.force_login(other_user, backend="accounts.backends.CachedModelBackend")
    assert client.get(f"/compare/{group}/").status_code == 404
    assert client.get("/compare/00000000-0000-0000-0000-000000000000/").status_code == 404
