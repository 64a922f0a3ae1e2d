"""The library's pages at 10 and at 10,000 videos for one creator, on PostgreSQL.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/library.py [--runs 15] [--large 10000]

Makes two creators in the named database (10 and ``--large`` finished generations, one
video each, mixed aspect ratios and lengths, prompts from a small vocabulary), runs ANALYZE,
then requests each page through Django's test client, alternating small and large, ``--runs``
times: the gallery, a prompt search, a filtered page (aspect ratio + length), and the same
sorted longest first.
Prints per page: the queries each request made at both sizes (they must not grow) and the
median server time at both sizes with their ratio (target: within 1.3x), with the spread
(min-max) to show the noise; and, for comparison, what the old paginator's COUNT(*) costs at
both sizes. The two creators and their rows are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "harbour",
    "lighthouse",
    "kite",
    "fox",
    "snow",
    "desert",
    "neon",
    "city",
    "rain",
    "forest",
    "river",
    "mountain",
    "dusk",
    "dawn",
    "ocean",
    "waves",
    "boat",
    "train",
    "market",
    "dancer",
    "violin",
    "garden",
    "storm",
    "cloud",
    "bridge",
    "tower",
    "meadow",
    "glacier",
    "canyon",
    "festival",
    "lantern",
    "street",
    "cat",
    "owl",
    "whale",
    "comet",
    "planet",
    "robot",
    "castle",
    "island",
    "volcano",
    "orchard",
    "bakery",
    "library",
    "subway",
    "rooftop",
    "sunflower",
    "jellyfish",
    "tram",
    "balloon",
]
PAGES = {
    "gallery": {},
    "search": {"q": "lighthouse dusk"},
    "filtered": {"aspect_ratio": "9:16", "min_seconds": "4"},
    "longest": {"aspect_ratio": "9:16", "min_seconds": "4", "sort": "longest"},
}


def _fill(user: object, n: int, rng: random.Random, *, matching: bool = False) -> None:
    """``n`` finished generations; ``matching``: every one matches the search and the filter
    (so the small library fills the same cards on every page as the large one)."""
    from django.db import connection

    from generations.models import Generation, Video
    from generations.states import State

    generations, videos = [], []
    shapes = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}
    for _ in range(n):
        aspect = "9:16" if matching else rng.choice(list(shapes))
        seconds = rng.randint(4, 12) if matching else rng.randint(1, 12)
        words = rng.choices(WORDS, k=6 if matching else 8)
        if matching:
            words += ["lighthouse", "dusk"]
        g = Generation(
            id=uuid.uuid4(),
            owner=user,
            prompt=" ".join(words),
            aspect_ratio=aspect,
            seconds=seconds,
            provider="offline",
            state=State.SUCCEEDED,
        )
        generations.append(g)
        w, h = shapes[aspect]
        videos.append(
            Video(
                owner=user,
                generation=g,
                file=f"videos/bench/{g.id}.mp4",
                width=w,
                height=h,
                duration=seconds,
                watermark="visible",
            )
        )
    Generation.objects.bulk_create(generations, batch_size=2000)
    # auto_now_add set them all to now: spread them over a year, as a real library is.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE generations_generation g SET created_at = now() - interval '53 minutes' * s.n"
            " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM generations_generation"
            " WHERE owner_id = %s) s WHERE g.id = s.id",
            [user.pk],  # type: ignore[attr-defined]
        )
    Video.objects.bulk_create(videos, batch_size=2000)


def _measure(client: object, url: str, query: dict[str, str]) -> tuple[float, int, float]:
    """Server time (s), queries, and their SQL time (ms) of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url, query)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.status_code
    sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    return elapsed, len(queries), sql


def _table(clients: dict[str, object], runs: int, page_size: int) -> None:
    print(f"page size {page_size} (10 videos fill {min(10, page_size)} cards):")
    print(
        f"{'page':<10}{'queries 10/N':>14}{'median 10':>12}{'median N':>12}{'ratio':>8}"
        f"   spread 10 / N (min-max ms)"
    )
    for page, query in PAGES.items():
        times: dict[str, list[float]] = {"small": [], "large": []}
        counts: dict[str, set[int]] = {"small": set(), "large": set()}
        sqls: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(runs):
            for name in ("small", "large"):
                elapsed, n, sql = _measure(clients[name], "/gallery/", query)
                times[name].append(elapsed * 1000)
                sqls[name].append(sql)
                counts[name].add(n)
        ms = {k: statistics.median(v) for k, v in times.items()}
        sql_ms = {k: statistics.median(v) for k, v in sqls.items()}
        spread = "  ".join(f"{min(times[k]):.1f}-{max(times[k]):.1f}" for k in ("small", "large"))
        print(
            f"{page:<10}{'/'.join(str(sorted(counts[k])) for k in ('small', 'large')):>14}"
            f"{ms['small']:>10.1f}ms{ms['large']:>10.1f}ms{ms['large'] / ms['small']:>8.2f}"
            f"   {spread}   SQL {sql_ms['small']:.1f} / {sql_ms['large']:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (the bench adds rows to it).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "*")
    # The test client speaks plain HTTP: production's redirect to HTTPS would answer 301.
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test import Client, override_settings

    from generations import selectors

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    tag = uuid.uuid4().hex[:6]
    small = users.create_user(f"bench-small-{tag}")
    large = users.create_user(f"bench-large-{tag}")
    try:
        rng = random.Random(7)
        start = time.perf_counter()
        _fill(small, 10, rng, matching=True)
        _fill(large, args.large, rng)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE generations_generation")
            cursor.execute("VACUUM ANALYZE generations_video")
        print(f"filled 10 + {args.large} videos in {time.perf_counter() - start:.1f} s")
        clients = {}
        for name, user in (("small", small), ("large", large)):
            clients[name] = Client()
            clients[name].force_login(user)
            for query in PAGES.values():  # warm up: templates, connection, caches
                _measure(clients[name], "/gallery/", query)
        for page_size in (10, settings.STUDIO_GALLERY_PAGE_SIZE):
            with override_settings(STUDIO_GALLERY_PAGE_SIZE=page_size):
                _table(clients, args.runs, page_size)
        old = {}
        for name, user in (("small", small), ("large", large)):
            samples = []
            for _ in range(args.runs):
                start = time.perf_counter()
                Paginator(selectors.video_list_for_user(user), 24).count  # noqa: B018
                samples.append((time.perf_counter() - start) * 1000)
            old[name] = statistics.median(samples)
        print(
            f"old paginator COUNT(*) alone: {old['small']:.2f} ms at 10, {old['large']:.2f} ms at"
            f" {args.large} (the new pages run no COUNT)"
        )
    finally:
        small.delete()
        large.delete()


if __name__ == "__main__":
    main()
