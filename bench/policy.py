"""How long a prompt check takes: the operator's rules only, and the rules plus a
moderation endpoint (the loopback ``/v1/moderations`` server from the tests, asked through
the ``openai`` SDK); also the face check on one upload.

Usage: .venv/bin/python bench/policy.py [--rules 50] [--checks 200] [--rounds 5]

Uses a fresh SQLite file unless DATABASE_URL is set. Makes ``--rules`` word lists of 20
words each plus 5 regular-expression rules, none of which fire on the bench prompt (so
every rule is tried: the worst case). The two modes alternate round by round; each round
times ``--checks`` calls of ``policy.checks.prompt_check``. Prints the median time per
check over the rounds, the spread (min-max of the rounds' medians), and the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPT = (
    "A slow dolly shot through a rain-soaked neon market at night, steam rising from food "
    "stalls, reflections in puddles, a cat watching from a windowsill, cinematic lighting"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-bench-policy-"))
    os.environ.update(DJANGO_SETTINGS_MODULE="studio.settings", STUDIO_VAR_DIR=str(var))
    import django

    django.setup()
    # The SDK's HTTP client logs every request at INFO: not what is measured.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.core.management import call_command

    from policy.checks import PolicyRefused, image_check, prompt_check
    from policy.models import CategoryThreshold, PolicySettings, Refusal, Rule
    from tests.policy.helpers import face_png
    from tests.policy.moderation_server import ModerationServer

    call_command("migrate", verbosity=0)
    Rule.objects.all().delete()
    Rule.objects.bulk_create(
        [
            Rule(name=f"list {i}", patterns="\n".join(f"blocked{i}x{j}" for j in range(20)))
            for i in range(args.rules)
        ]
        + [
            Rule(name=f"regex {i}", kind=Rule.Kind.REGEX, patterns=rf"\bforbid{i}\w*\b")
            for i in range(5)
        ]
    )
    server = ModerationServer(triggers={"gore": ("violence/graphic", 0.9)})
    row = PolicySettings.load()
    CategoryThreshold.objects.get_or_create(
        settings=row, category="violence/graphic", defaults={"threshold": 0.5}
    )

    def set_endpoint(url: str) -> None:
        PolicySettings.objects.filter(pk=row.pk).update(moderation_url=url)

    def one_round() -> float:
        start = time.perf_counter()
        for _ in range(args.checks):
            prompt_check(PROMPT, user_id=None)
        return (time.perf_counter() - start) / args.checks

    timings: dict[str, list[float]] = {"rules only": [], "rules + moderation endpoint": []}
    try:
        for url in ("", server.base_url):
            set_endpoint(url)
            prompt_check(PROMPT, user_id=None)  # warm: compiled rules, the SDK's client
        for _ in range(args.rounds):
            for mode, url in (
                ("rules only", ""),
                ("rules + moderation endpoint", server.base_url),
            ):
                set_endpoint(url)
                timings[mode].append(one_round())
        assert not Refusal.objects.exists(), "the bench prompt must pass every rule"
        assert len(server.inputs) == args.rounds * args.checks + 1
        face = var / "face.png"
        face.write_bytes(face_png(size=1024))
        PolicySettings.objects.filter(pk=row.pk).update(refuse_faces=True)
        face_times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            with contextlib.suppress(PolicyRefused):
                image_check(face, user_id=None, stage="upload", name="face.png")
            face_times.append(time.perf_counter() - start)
    finally:
        server.stop()

    print(
        f"{args.rules} word lists x 20 words + 5 regexes, {args.checks} checks per round, "
        f"{args.rounds} rounds (modes alternating)"
    )
    medians = {}
    for mode, values in timings.items():
        medians[mode] = statistics.median(values)
        print(
            f"{mode:>28}: {medians[mode] * 1000:.3f} ms per check "
            f"(rounds {min(values) * 1000:.3f}-{max(values) * 1000:.3f} ms)"
        )
    ratio = medians["rules + moderation endpoint"] / medians["rules only"]
    print(f"{'endpoint / rules only':>28}: {ratio:.1f}x")
    print(
        f"{'face check, 1024 px PNG':>28}: {statistics.median(face_times) * 1000:.1f} ms "
        f"(rounds {min(face_times) * 1000:.1f}-{max(face_times) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
