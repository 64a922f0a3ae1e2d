"""The checks generations call before anything is saved or queued: ``prompt_check`` (the
operator's rules, then the moderation endpoint) and ``image_check`` (the face check on an
upload or a reference). A refusal is logged (stage, rule, what the creator was told) and
raised as PolicyRefused carrying only the public reason."""

from __future__ import annotations

import logging
from pathlib import Path

from policy.faces import count_faces_in_file
from policy.models import PolicySettings, Refusal, Rule
from policy.moderation import ModerationUnavailable, moderate, over_threshold
from policy.review import refusals_check
from policy.rules import RuleSpec, first_match

logger = logging.getLogger(__name__)

TRY_AGAIN = "We cannot check prompts right now: try again later."
DEFAULT_REASON = "This prompt is not allowed by the studio's content policy."


class PolicyRefused(Exception):
    """A prompt, upload or reference the policy refuses; ``str()`` is the public reason."""

    def __init__(self, reason: str, *, stage: str, rule: str) -> None:
        super().__init__(reason)
        self.reason, self.stage, self.rule = reason, stage, rule


def refusal_log(*, stage: str, rule: str, reason: str, user_id: int | None, excerpt: str) -> None:
    """Log one refusal (also a provider's, at the output stage, which keeps its job's
    ``rejected`` state); past the operator's count within the window, the account's
    generation is suspended until reviewed (``policy.review.refusals_check``)."""
    Refusal.objects.create(
        user_id=user_id, stage=stage, rule=rule[:200], reason=reason[:200], excerpt=excerpt[:2000]
    )
    refusals_check(user_id)


def _refuse(*, stage: str, rule: str, reason: str, user_id: int | None, excerpt: str) -> None:
    refusal_log(stage=stage, rule=rule, reason=reason, user_id=user_id, excerpt=excerpt)
    raise PolicyRefused(reason, stage=stage, rule=rule)


def active_rules() -> list[RuleSpec]:
    fields = ("id", "name", "kind", "patterns", "language", "public_reason")
    return [
        RuleSpec(*row)
        for row in Rule.objects.filter(enabled=True).order_by("id").values_list(*fields)
    ]


def prompt_check(prompt: str, *, user_id: int | None) -> None:
    """Check a prompt against the operator's rules, then (when one is set) the moderation
    endpoint. Raises PolicyRefused; while the endpoint is down the operator's fallback
    decides (refuse with "try again later", or allow and log a warning)."""
    rule = first_match(prompt, active_rules())
    if rule is not None:
        _refuse(
            stage=Refusal.Stage.PROMPT,
            rule=f"rule {rule.id}: {rule.name}",
            reason=rule.public_reason,
            user_id=user_id,
            excerpt=prompt,
        )
    row = PolicySettings.load()
    if not row.moderation_url:
        return
    try:
        verdict = moderate(
            prompt,
            base_url=row.moderation_url,
            model=row.moderation_model,
            timeout=row.moderation_timeout,
        )
    except ModerationUnavailable as exc:
        if row.on_outage == PolicySettings.Outage.REFUSE:
            _refuse(
                stage=Refusal.Stage.PROMPT,
                rule=f"moderation unavailable ({exc})",
                reason=TRY_AGAIN,
                user_id=user_id,
                excerpt=prompt,
            )
        logger.warning("moderation endpoint unavailable, prompt allowed by fallback: %s", exc)
        return
    thresholds = {t.category: t for t in row.thresholds.all()}
    category = over_threshold(verdict, {c: t.threshold for c, t in thresholds.items()})
    if category is not None:
        score = verdict.scores.get(category)
        _refuse(
            stage=Refusal.Stage.PROMPT,
            rule=f"moderation: {category}" + (f" ({score:.3f})" if score is not None else ""),
            reason=thresholds[category].public_reason if category in thresholds else DEFAULT_REASON,
            user_id=user_id,
            excerpt=prompt,
        )


def image_check(path: str | Path, *, user_id: int | None, stage: str, name: str) -> None:
    """Refuse an image (an upload, a reference, a video's frame) that shows a human face,
    when the operator says so. Raises PolicyRefused."""
    row = PolicySettings.load()
    if not row.refuse_faces:
        return
    faces = count_faces_in_file(path)
    if faces:
        _refuse(
            stage=stage,
            rule=f"face check: {faces} face(s) found",
            reason=row.face_reason,
            user_id=user_id,
            excerpt=name,
        )
