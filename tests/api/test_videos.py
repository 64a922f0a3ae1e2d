"""The official openai SDK against a live Studio on loopback: retrieve, list (250 videos,
cursor pages), delete (the files too), content with Range, and every error case raising
the SDK's matching exception class; another owner's ids are 404 on every route."""

from __future__ import annotations

import io

import av
import httpx2
import openai
import pytest
from PIL import Image

from accounts.plans import account_get_for_user
from generations.models import Generation
from generations.states import State
from tests.api.conftest import fetch_in_ranges, sdk
from tests.factories import make_generation
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db(transaction=True)


def _vid(generation: Generation) -> str:
    return "video_" + generation.pk.hex


def test_retrieve_maps_studio_states_to_the_protocols_statuses(studio, user, key):
    client = sdk(studio, key)
    expected = {
        State.QUEUED: ("queued", None),
        State.SUBMITTING: ("queued", None),
        State.RUNNING: ("in_progress", None),
        State.FINISHING: ("in_progress", None),
        State.FAILED: ("failed", "render_failed"),
        State.REJECTED: ("failed", "moderation_blocked"),
        State.CANCELED: ("failed", "canceled"),
    }
    for state, (status, code) in expected.items():
        generation = make_generation(
            user, state=state, error_code="render_failed", error_message="It broke."
        )
        video = client.videos.retrieve(_vid(generation))
        assert video.status == status, state
        assert video.id == _vid(generation) and video.object == "video"
        assert video.seconds == "1" and video.size == "854x480" and video.expires_at is None
        assert (video.error.code if video.error else None) == code, state


def test_retrieve_sends_a_poll_hint_while_the_job_runs(studio, user, key):
    client = sdk(studio, key)
    running = make_generation(user, state=State.QUEUED)
    raw = client.videos.with_raw_response.retrieve(_vid(running))
    assert 1000 <= int(raw.headers["openai-poll-after-ms"]) <= 20_000
    assert int(raw.headers["openai-processing-ms"]) >= 0
    done = make_generation(user, state=State.SUCCEEDED)
    assert (
        "openai-poll-after-ms" not in client.videos.with_raw_response.retrieve(_vid(done)).headers
    )


def test_list_paginates_across_250_videos_in_both_orders(studio, user, other_user, key):
    made = [make_generation(user, state=State.SUCCEEDED, prompt=f"clip {i}") for i in range(250)]
    make_generation(other_user, state=State.SUCCEEDED, prompt="not yours")
    client = sdk(studio, key)
    newest_first = [_vid(g) for g in sorted(made, key=lambda g: (g.created_at, g.pk.hex))][::-1]

    first = client.videos.list(limit=100)
    assert len(first.data) == 100 and first.has_more
    assert first.first_id == newest_first[0] and first.last_id == newest_first[99]
    listed = [v.id for v in client.videos.list(limit=100)]  # the SDK follows after=last_id
    assert listed == newest_first
    oldest_first = [v.id for v in client.videos.list(limit=7, order="asc")]
    assert oldest_first == newest_first[::-1]
    last = client.videos.list(limit=100, after=newest_first[199])
    assert len(last.data) == 50 and not last.has_more


def test_list_refuses_bad_parameters_with_a_400_naming_them(studio, key):
    for query in ["limit=0", "limit=101", "limit=x", "order=up", "after=video_0"]:
        response = httpx2.get(
            f"{studio.base_url}/videos?{query}", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 400, query
        assert response.json()["error"]["param"] == query.split("=")[0]


def test_delete_removes_the_video_and_its_files(studio, user, key):
    generation = make_finished(user)
    video = generation.videos.get()
    files = [video.file, video.delivery, video.poster]
    assert all(f and f.storage.exists(f.name) for f in files)
    client = sdk(studio, key)

    deleted = client.videos.delete(_vid(generation))

    assert deleted.deleted and deleted.id == _vid(generation)
    assert not any(f.storage.exists(f.name) for f in files)
    assert not Generation.objects.filter(pk=generation.pk).exists()
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(_vid(generation))


def test_every_content_variant_is_streamed_and_range_capable(studio, user, key):
    generation = make_finished(user)
    client = sdk(studio, key)
    vid = _vid(generation)
    whole = client.videos.download_content(vid).read()
    with av.open(io.BytesIO(whole)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24
    for variant, kind in (("video", None), ("thumbnail", "WEBP"), ("spritesheet", "JPEG")):
        url = f"{studio.base_url}/videos/{vid}/content?variant={variant}"
        body, joined = fetch_in_ranges(url, key)
        assert joined == body, variant
        if kind is None:
            assert body == whole
        else:
            assert body == client.videos.download_content(vid, variant=variant).read()
            with Image.open(io.BytesIO(joined)) as image:
                assert image.format == kind
                image.load()  # the joined ranges are the whole, decodable image


def test_another_owners_video_is_a_404_on_every_route(studio, user, other_user, key):
    theirs = make_finished(other_user)
    client = sdk(studio, key)
    vid = _vid(theirs)
    calls = [
        lambda: client.videos.retrieve(vid),
        lambda: client.videos.delete(vid),
        lambda: client.videos.download_content(vid),
        lambda: client.videos.download_content(vid, variant="thumbnail"),
        lambda: client.videos.remix(vid, prompt="mine now"),
        lambda: client.post(
            "/videos/extensions",
            body={"prompt": "more", "video": {"id": vid}, "seconds": "4"},
            cast_to=object,
        ),
        lambda: client.post(
            "/videos/edits", body={"prompt": "edit", "video": {"id": vid}}, cast_to=object
        ),
        lambda: client.videos.retrieve("video_nothing"),
        lambda: client.videos.retrieve("../../etc/passwd"),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert caught.value.body["param"] in (None, "video", "video_id")
    assert Generation.objects.filter(owner=other_user).count() == 1
    assert Generation.objects.filter(owner=user).count() == 0


def test_create_errors_raise_the_sdks_exception_classes(studio, user, key):
    client = sdk(studio, key)
    cases = [
        (openai.BadRequestError, "size", {"prompt": "a", "size": "1024x1792"}),
        (openai.BadRequestError, "seconds", {"prompt": "a", "seconds": "four"}),
        (openai.BadRequestError, "seconds", {"prompt": "a", "seconds": "0"}),
        (openai.BadRequestError, "model", {"prompt": "a", "model": "sora-2"}),
        (openai.BadRequestError, "prompt", {"prompt": "   "}),
        (openai.BadRequestError, "seconds", {"prompt": "a", "seconds": "25"}),
        # 1080p and 20 s the offline renderer makes; the Plus plan does not allow them.
        (openai.PermissionDeniedError, "size", {"prompt": "a", "size": "1920x1080"}),
        (openai.PermissionDeniedError, "seconds", {"prompt": "a", "seconds": "20"}),
        (
            openai.UnprocessableEntityError,
            "input_reference",
            {"prompt": "a", "input_reference": ("ref.png", b"not a png at all", "image/png")},
        ),
    ]
    for exc_class, param, kwargs in cases:
        with pytest.raises(exc_class) as caught:
            client.videos.create(**kwargs)
        assert caught.value.param == param, kwargs
        assert caught.value.body["message"]
    assert Generation.objects.count() == 0  # nothing half-saved


def test_the_gateway_dialect_is_refused_when_it_cannot_be_honoured(studio, key):
    client = sdk(studio, key)
    for extra, param in [
        ({"resolution": "480p", "size": "720x1280"}, "size"),
        ({"resolution": "4k"}, "resolution"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"duration": 4.5}, "duration"),
        ({"duration": 8, "seconds": "4"}, "duration"),
        ({"fps": 30}, "fps"),
        ({"n": 2}, "n"),  # one video per create: several takes are several creates
        ({"n": "4"}, "n"),
    ]:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create(prompt="a", extra_body=extra)
        assert caught.value.param == param, extra
    assert not Generation.objects.exists()


def test_the_gateway_dialect_is_honoured(studio, user, key):
    client = sdk(studio, key)
    video = client.videos.create(
        prompt="a kite",
        extra_body={
            "resolution": "480p",
            "aspect_ratio": "1:1",
            "duration": 2,
            "fps": 24,
            "n": 1,
        },
    )
    assert video.size == "480x480" and video.seconds == "2" and video.status == "queued"
    generation = Generation.objects.get()
    assert (generation.resolution, generation.aspect_ratio, generation.seconds) == (
        "480p",
        "1:1",
        2,
    )
    assert video.model == "offline"


BAD_BODIES = [
    ("application/json", b"{not json"),
    ("application/json", b"[1, 2]"),
    ("application/json", b'{"prompt": {"x": 1}}'),
    ("application/json", b'{"prompt": "a", "seconds": true}'),
    ("application/json", b'{"prompt": "a", "input_reference": "https://example.com/a.png"}'),
    ("application/json", b'{"prompt": "a", "input_reference": {"image_url": "http://10.0.0.1/"}}'),
    ("multipart/form-data; boundary=zzz", b"--zzz\r\ngarbage"),
    ("multipart/form-data", b"no boundary"),
    ("text/plain", b"prompt=a"),
    ("application/json", b'{"prompt": "a", "duration": 1e400}'),
]


def test_a_body_that_cannot_be_used_is_a_400_never_a_500(studio, key):
    for content_type, body in BAD_BODIES:
        response = httpx2.post(
            f"{studio.base_url}/videos",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        )
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert not Generation.objects.exists()


def test_an_unknown_route_is_a_404_in_openais_shape(studio, key):
    client = sdk(studio, key)
    with pytest.raises(openai.NotFoundError):
        client.get("/videos/characters/char_1/nothing", cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.models.list()


def test_rate_limits_answer_429_with_retry_after_and_headers(studio, user, key):
    plan = account_get_for_user(user).plan
    plan.api_requests_per_minute = 3
    plan.api_creates_per_minute = 1
    plan.save()
    client = sdk(studio, key)
    raw = client.videos.with_raw_response.list()
    assert raw.headers["x-ratelimit-limit-requests"] == "3"
    assert raw.headers["x-ratelimit-remaining-requests"] == "2"
    client.videos.create(prompt="one a minute")
    with pytest.raises(openai.RateLimitError) as caught:
        client.videos.create(prompt="a second one")
    assert caught.value.code == "rate_limit_exceeded"
    assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 60
    with pytest.raises(openai.RateLimitError) as caught:
        client.videos.list()
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert Generation.objects.count() == 1


def test_every_routes_errors_raise_the_sdks_exception_classes(studio, user, other_user, key):
    """Beyond create's (above): each refusal on each route, through the SDK, is the class
    its status maps to, with OpenAI's error body; nothing is made by any of them."""
    client = sdk(studio, key)
    done = make_finished(user)
    queued = make_generation(user, state=State.QUEUED)
    theirs = make_generation(other_user, state=State.SUCCEEDED)
    before = Generation.objects.count()
    wrong = sdk(studio, "sk-studio-" + "x" * 43)
    cases = [
        (openai.AuthenticationError, "invalid_api_key", lambda: wrong.videos.list()),
        (openai.AuthenticationError, "invalid_api_key", lambda: wrong.videos.retrieve(_vid(done))),
        (openai.BadRequestError, "limit", lambda: client.videos.list(limit=0)),
        (openai.BadRequestError, "order", lambda: client.videos.list(order="up")),  # type: ignore[arg-type]
        (openai.BadRequestError, "after", lambda: client.videos.list(after="video_x")),
        (openai.NotFoundError, "after", lambda: client.videos.list(after=_vid(theirs))),
        (
            openai.BadRequestError,
            "video_not_ready",
            lambda: client.videos.download_content(_vid(queued)),
        ),
        (
            openai.BadRequestError,
            "variant",
            lambda: client.videos.download_content(_vid(done), variant="poster"),  # type: ignore[arg-type]
        ),
        (openai.BadRequestError, "prompt", lambda: client.videos.remix(_vid(done), prompt=" ")),
        (openai.BadRequestError, "video_id", lambda: client.videos.remix(_vid(queued), prompt="x")),
        (
            openai.BadRequestError,
            "video",
            lambda: client.post("/videos/extensions", body={"prompt": "more"}, cast_to=object),
        ),
        (
            openai.BadRequestError,
            "prompt",
            lambda: client.post(
                "/videos/edits", body={"video": {"id": _vid(done)}}, cast_to=object
            ),
        ),
        (openai.NotFoundError, "unknown_url", lambda: client.get("/files", cast_to=object)),
    ]
    for exc_class, what, call in cases:
        with pytest.raises(exc_class) as caught:
            call()
        assert what in (caught.value.param, caught.value.code), (what, caught.value.body)
        assert set(caught.value.body) == {"message", "type", "param", "code"}
        assert caught.value.body["message"]
    assert Generation.objects.count() == before


def test_a_deactivated_owners_key_is_refused_at_once(studio, user, key):
    client = sdk(studio, key)
    assert client.videos.list().data == []
    user.is_active = False
    user.save()
    with pytest.raises(openai.AuthenticationError):
        client.videos.list()
