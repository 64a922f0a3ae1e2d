"""The Prometheus endpoint (/metrics, behind STUDIO_METRICS_TOKEN): jobs by state and
provider and queue depths read at scrape time, plus the counters and histograms every
process records through ``core.metrics``."""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from core import metrics
from generations.models import Generation

QUEUES = ("priority", "standard", "media", "gpu")
COUNTERS = {
    "provider_errors": (
        "Provider API errors, by provider, kind and step.",
        ["provider", "kind", "step"],
    ),
    "webhook_deliveries": (
        "Webhook deliveries received, by provider and outcome.",
        ["provider", "outcome"],
    ),
    "storage_errors": ("Storage operations that failed, by operation.", ["operation"]),
}
HISTOGRAMS = {
    "stage_seconds": (
        "Seconds a job spent in each stage, by stage and provider.",
        ["stage", "provider"],
    ),
    "finishing_seconds": (
        "Seconds finishing took per job (marks, credentials, poster).",
        ["provider"],
    ),
}


class StudioCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "studio_generations", "Generations by state and provider.", labels=["state", "provider"]
        )
        rows = Generation.objects.values("state", "provider").annotate(n=Count("id"))
        for row in rows.order_by("state", "provider"):
            jobs.add_metric([row["state"], row["provider"]], row["n"])
        yield jobs
        depth = _queue_depths()
        if depth is not None:
            yield depth
        for name, (doc, labels) in COUNTERS.items():
            counter = CounterMetricFamily(f"studio_{name}", doc, labels=labels)
            for series, value in sorted(metrics.read(name), key=lambda item: str(item[0])):
                counter.add_metric([series.get(label, "") for label in labels], value)
            yield counter
        for name, (doc, labels) in HISTOGRAMS.items():
            yield _histogram(name, doc, labels)


def _histogram(name: str, doc: str, labels: list[str]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(f"studio_{name}", doc, labels=labels)
    grouped: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for series, value in metrics.read(name):
        key = tuple(series.get(label, "") for label in labels)
        grouped[key][series["le"]] = value
    for key, fields in sorted(grouped.items()):
        total = fields.pop("sum", 0.0)
        buckets = sorted(
            ((le, n) for le, n in fields.items() if le != "+Inf"), key=lambda b: float(b[0])
        )
        cumulative = [(str(float(le)), n) for le, n in buckets] + [("+Inf", fields.get("+Inf", 0))]
        family.add_metric(list(key), cumulative, sum_value=total)
    return family


def _queue_depths() -> GaugeMetricFamily | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    depth = GaugeMetricFamily(
        "studio_queue_depth", "Tasks waiting per Celery queue.", labels=["queue"]
    )
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        for queue in QUEUES:
            depth.add_metric([queue], int(client.llen(queue)))
    except redis.RedisError:
        return None
    finally:
        client.close()
    return depth


def metrics_response(request: HttpRequest) -> HttpResponse:
    """The exposition text for a request with the right bearer token; 404 when metrics are
    off (no token set), 401 otherwise."""
    token = settings.STUDIO_METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        answer = HttpResponse("A bearer token is needed.", status=401, content_type="text/plain")
        answer["WWW-Authenticate"] = "Bearer"
        return answer
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4")
