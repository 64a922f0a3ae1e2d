"""The moderation endpoint: an OpenAI-compatible ``/v1/moderations`` server asked through
the official ``openai`` SDK (``moderations.create``), its scores compared with the
operator's per-category thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import openai
from django.conf import settings


class ModerationUnavailable(Exception):
    """The endpoint could not be reached or answered with an error."""


@dataclass(frozen=True)
class Verdict:
    """One moderated text: its scores and the endpoint's own flags, by category."""

    flagged: bool
    scores: dict[str, float]
    categories: dict[str, bool]


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    # No retries: the creator is waiting, and an outage has its own fallback.
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


def moderate(text: str, *, base_url: str, model: str, timeout: float) -> Verdict:
    """Ask the endpoint about ``text``. Raises ModerationUnavailable for a connection
    error, a timeout or an error status (any of which means: cannot tell now)."""
    api_key = settings.STUDIO_MODERATION_API_KEY or "no-key"
    try:
        response = _client(base_url, api_key, timeout).moderations.create(input=text, model=model)
        result = response.results[0]
    except (openai.APIError, IndexError) as exc:
        raise ModerationUnavailable(f"{type(exc).__name__}: {exc}") from exc
    scores = {
        k: float(v)
        for k, v in result.category_scores.model_dump(by_alias=True).items()
        if v is not None
    }
    flags = {
        k: bool(v) for k, v in result.categories.model_dump(by_alias=True).items() if v is not None
    }
    return Verdict(flagged=bool(result.flagged), scores=scores, categories=flags)


def over_threshold(verdict: Verdict, thresholds: dict[str, float]) -> str | None:
    """The first category (by name) whose score reaches its threshold; with no thresholds
    set, the first the endpoint flagged itself. None when the text passes."""
    if thresholds:
        for category in sorted(thresholds):
            if verdict.scores.get(category, 0.0) >= thresholds[category]:
                return category
        return None
    flagged = sorted(c for c, on in verdict.categories.items() if on)
    return flagged[0] if flagged else ("flagged" if verdict.flagged else None)
