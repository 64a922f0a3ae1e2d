"""The review side of the content policy: reports of shared videos (rate-limited per person
and per address), automatic flags (an account suspended after repeated refusals), and what
operators do with them: hide a video (its share links stop working at once), restore it,
suspend or reinstate its creator, dismiss. The creator is told each decision in the app
(a Notice); every decision is in the audit trail.

Videos arrive as objects or ids (``generations.Video``); this module never imports the
generations app, which sits above it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import audit
from accounts.suspension import account_reinstate, account_suspend
from policy.models import HiddenVideo, Notice, PolicySettings, Refusal, ReviewItem

Actor = AbstractBaseUser | AnonymousUser | None
Outcome = ReviewItem.Outcome
TOO_MANY_REPORTS = "You have sent several reports in the last hour: try again later."


class ReportRefused(Exception):
    """A report that is not taken (too many from this person or address)."""


def _about(video: Any) -> str:
    prompt = " ".join(str(video.generation.prompt).split())
    return f"“{prompt[:60]}{'…' if len(prompt) > 60 else ''}”"


def notice_send(user_id: int, text: str) -> Notice:
    return Notice.objects.create(user_id=user_id, text=text[:500])


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def report_create(
    *, video: Any, reason: str, text: str, reporter_id: int | None, ip: str | None
) -> ReviewItem:
    """A report of ``video`` into the review queue. The same person's open report of the
    same video is not repeated (it is returned). Raises ReportRefused past the operator's
    reports per hour (counted per person, and per address for people not signed in)."""
    ip = _address(ip)
    limit = PolicySettings.load().reports_per_hour
    since = timezone.now() - timedelta(hours=1)
    who = Q(reporter_id=reporter_id) if reporter_id is not None else Q(reporter_ip=ip)
    if reporter_id is None and ip is None:
        who = Q(pk__in=[])
    existing = ReviewItem.objects.filter(
        who, video_id=video.pk, kind=ReviewItem.Kind.REPORT, state=ReviewItem.State.OPEN
    ).first()
    if existing is not None:
        return existing
    sent = ReviewItem.objects.filter(who, kind=ReviewItem.Kind.REPORT, created_at__gte=since)
    if sent.count() >= limit:
        raise ReportRefused(TOO_MANY_REPORTS)
    item = ReviewItem.objects.create(
        kind=ReviewItem.Kind.REPORT,
        reason=reason,
        text=text[:2000],
        video_id=video.pk,
        creator_id=video.owner_id,
        reporter_id=reporter_id,
        reporter_ip=ip,
    )
    audit.record("video.reported", target=item, video=str(video.pk), reason=reason)
    return item


def video_hidden(video_id: UUID | str) -> bool:
    return HiddenVideo.objects.filter(video_id=video_id).exists()


def hidden_among(video_ids: Iterable[object]) -> set[Any]:
    """The ids among ``video_ids`` of videos that are hidden."""
    return set(
        HiddenVideo.objects.filter(video_id__in=list(video_ids)).values_list("video_id", flat=True)
    )


def _close(items: Any, outcome: str, by: Actor) -> int:
    user_id = by.pk if by is not None and by.is_authenticated else None
    return int(
        items.filter(state=ReviewItem.State.OPEN).update(
            state=ReviewItem.State.CLOSED,
            outcome=outcome,
            decided_by_id=user_id,
            decided_at=timezone.now(),
        )
    )


def video_hide(*, video: Any, by: Actor, reason: str = "") -> bool:
    """Hide ``video``: its share links answer 404 from this moment and it leaves the shared
    folders; its open reports close; its creator is told. False if it was hidden already."""
    with transaction.atomic():
        user_id = by.pk if by is not None and by.is_authenticated else None
        _, created = HiddenVideo.objects.get_or_create(
            video_id=video.pk, defaults={"hidden_by_id": user_id, "reason": reason[:200]}
        )
        _close(ReviewItem.objects.filter(video_id=video.pk), Outcome.HIDDEN, by)
        if not created:
            return False
        notice_send(
            video.owner_id,
            f"Your video {_about(video)} was hidden after a review: its share links no longer "
            "work and it is out of your teams' shared folders."
            + (f" Reason: {reason}" if reason else ""),
        )
        audit.record("video.hidden", actor=by, target=video, reason=reason)
    return True


def video_restore(*, video: Any, by: Actor) -> bool:
    """Undo a hide: the share links work again. False if it was not hidden."""
    with transaction.atomic():
        deleted, _ = HiddenVideo.objects.filter(video_id=video.pk).delete()
        _close(ReviewItem.objects.filter(video_id=video.pk), Outcome.RESTORED, by)
        if not deleted:
            return False
        notice_send(
            video.owner_id, f"Your video {_about(video)} was restored: its share links work again."
        )
        audit.record("video.restored", actor=by, target=video)
    return True


def creator_suspend(*, user_id: int, by: Actor, reason: str, system: bool = False) -> bool:
    """Suspend generation for ``user_id`` until reviewed; their open items close (unless the
    suspension itself is the automatic flag); they are told. False if suspended already."""
    with transaction.atomic():
        if not account_suspend(user_id=user_id, reason=reason, by=by, system=system):
            return False
        if not system:
            _close(ReviewItem.objects.filter(creator_id=user_id), Outcome.SUSPENDED, by)
        notice_send(
            user_id,
            f"Generation is suspended for your account until an operator reviews it: {reason}",
        )
    return True


def creator_reinstate(*, user_id: int, by: Actor) -> bool:
    """Lift a suspension; the automatic flags about the account close; they are told."""
    with transaction.atomic():
        if not account_reinstate(user_id=user_id, by=by):
            return False
        _close(
            ReviewItem.objects.filter(creator_id=user_id, kind=ReviewItem.Kind.FLAG),
            Outcome.REINSTATED,
            by,
        )
        notice_send(user_id, "Your account may generate again: an operator lifted the suspension.")
    return True


def item_dismiss(*, item: ReviewItem, by: Actor) -> bool:
    done = _close(ReviewItem.objects.filter(pk=item.pk), Outcome.DISMISSED, by)
    if done:
        audit.record("review.dismissed", actor=by, target=item)
    return bool(done)


def refusals_check(user_id: int | None) -> bool:
    """After a refusal: suspend the account (and flag it for review) when it was refused
    more often than the operator allows within the window. True when this refusal did."""
    if user_id is None:
        return False
    row = PolicySettings.load()
    if not row.refusals_before_suspension:
        return False
    since = timezone.now() - timedelta(minutes=row.refusal_window_minutes)
    count = Refusal.objects.filter(user_id=user_id, at__gte=since).count()
    if count <= row.refusals_before_suspension:
        return False
    why = f"{count} refusals within {row.refusal_window_minutes} minutes"
    if not creator_suspend(user_id=user_id, by=None, reason=why, system=True):
        return False
    ReviewItem.objects.create(
        kind=ReviewItem.Kind.FLAG,
        reason=ReviewItem.Reason.REFUSALS,
        text=why,
        creator_id=user_id,
    )
    return True


def notices_unseen(user_id: int) -> list[Notice]:
    return list(Notice.objects.filter(user_id=user_id, seen_at__isnull=True)[:5])


def notice_dismiss(*, user_id: int, notice_id: object) -> bool:
    try:
        pk = int(str(notice_id))
    except ValueError:
        return False
    return bool(
        Notice.objects.filter(pk=pk, user_id=user_id, seen_at__isnull=True).update(
            seen_at=timezone.now()
        )
    )
