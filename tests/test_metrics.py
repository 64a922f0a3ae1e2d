"""/metrics: off without a token, refused with a wrong one; after a job it reports the job
in the right series (state and provider, each stage's duration, finishing time) and the
counters workers record (provider errors)."""

from __future__ import annotations

import re

import pytest
import redis
from django.conf import settings

from core import metrics
from generations.models import Generation
from generations.services.pipeline import _count_error
from providers.base import TransientError
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me"


@pytest.fixture(autouse=True)
def _fresh_metrics(settings):
    settings.STUDIO_METRICS_TOKEN = TOKEN
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in client.scan_iter("studio:metrics:*"):
            client.delete(key)
    metrics._local.clear()


def _scrape(client) -> dict[str, float]:
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    series = {}
    for line in answer.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(client, settings):
    settings.STUDIO_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.STUDIO_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_a_finished_job_shows_in_its_series(client, user, django_capture_on_commit_callbacks):
    # Stage durations are recorded once each move has committed.
    with django_capture_on_commit_callbacks(execute=True):
        generation = make_finished(user)
    series = _scrape(client)
    assert series['studio_generations{provider="offline",state="succeeded"}'] == 1
    for stage in ("queued", "submitting", "running", "downloading", "finishing"):
        key = f'studio_stage_seconds_count{{provider="offline",stage="{stage}"}}'
        assert series[key] == 1, (stage, sorted(series))
        assert (
            series[f'studio_stage_seconds_bucket{{le="+Inf",provider="offline",stage="{stage}"}}']
            == 1
        )
    assert series['studio_finishing_seconds_count{provider="offline"}'] == 1
    finishing = series['studio_finishing_seconds_sum{provider="offline"}']
    assert 0 < finishing < 600
    # Buckets are cumulative: each le holds at least what the smaller ones hold.
    buckets = sorted(
        (float(m[1]), value)
        for name, value in series.items()
        if (
            m := re.match(
                r'studio_finishing_seconds_bucket\{le="([^"]+)",provider="offline"\}', name
            )
        )
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts) and counts[-1] == 1
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        assert 'studio_queue_depth{queue="media"}' in series
    assert generation.state == "succeeded"


def test_provider_errors_are_counted_by_kind(client, user):
    generation = make_finished(user)
    _count_error(generation, TransientError("slow down"), step="poll")
    _count_error(generation, TransientError("slow down"), step="poll")
    series = _scrape(client)
    assert (
        series['studio_provider_errors_total{kind="transient",provider="offline",step="poll"}'] == 2
    )
    assert Generation.objects.count() == 1
