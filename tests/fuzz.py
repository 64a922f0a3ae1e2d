"""Shared Hypothesis settings for the fuzz tests: derandomized (the same examples on every
run, so CI is repeatable and a failure reproduces), no example database on disk, no
per-example deadline (timing is noisy on shared machines), function-scoped fixtures allowed
(each example is checked against counts taken inside it)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
