"""Finding the job a create made when its answer was lost, only when it is provably ours.

After a create whose outcome is unknown (a timeout, a 5xx, a killed worker) the provider
lists the server's jobs and adopts one only if it was created after the send (on the
server's own clock), every compared field is present and equal, no other generation owns
it, and no second job fits as well. Otherwise it waits through a grace window (a server's
list may lag behind its creates) and then gives up with a plain message: it never guesses
and never sends the create again.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Any

import openai
from django.conf import settings
from openai.types import Video

from providers.base import JobsTaken, PermanentError, TransientError
from providers.openai_compat.protocol import translate

# Jobs the server lists at most when looking for one whose create outcome is unknown.
RECONCILE_MAX_JOBS = 500


def reconcile(client: openai.OpenAI, marker: dict[str, Any], taken: JobsTaken) -> str:
    """The id of the one listed job proven to be the marker's create. Raises TransientError
    within STUDIO_OPENAI_RECONCILE_GRACE_SECONDS of the send when none is found (look
    again later) or the server cannot be asked, and PermanentError after the window, or at
    once when more than one job fits."""
    candidates = [v.id for v in listed_since(client, marker) if proves_own(v, marker)]
    owned = taken(candidates)
    free = [job_id for job_id in candidates if job_id not in owned]
    if len(free) == 1:
        return free[0]
    if len(free) > 1:
        raise PermanentError(
            "Studio lost the video server's answer to this job's create, and "
            f"{len(free)} jobs on the server fit it equally well ({', '.join(free[:5])}); "
            "it will not guess which one is yours. Generate it again.",
            code="reconcile_ambiguous",
        )
    grace = float(settings.STUDIO_OPENAI_RECONCILE_GRACE_SECONDS)
    waited = time.time() - float(marker["sent_at"])
    if waited < grace:
        raise TransientError(
            "Studio lost the video server's answer to this job's create and is waiting "
            "for the job to show in the server's list.",
            code="reconcile_pending",
            retry_after=max(1.0, min(grace / 4, grace - waited)),
        )
    raise PermanentError(
        "Studio lost the video server's answer to this job's create, and the server's list "
        f"showed no job it can prove is this one within {grace:g} s; so as not to make a "
        "second, billed job, it was not sent again. Generate it again.",
        code="reconcile_unproven",
    )


def listed_since(client: openai.OpenAI, marker: dict[str, Any]) -> list[Video]:
    """The server's jobs created at or after the marker's send, read newest first through
    the cursor pages (at most RECONCILE_MAX_JOBS). The send time is moved onto the server's
    clock by the ``Date`` of its answer; both are whole seconds, so the bound errs early by
    at most a second or two, never late (a job of ours is never left out)."""
    found: list[Video] = []
    newest_first, last = True, float("inf")
    try:
        raw = client.videos.with_raw_response.list(order="desc", limit=100)
        since = math.floor(float(marker["sent_at"]) + clock_offset(raw.headers))
        for seen, video in enumerate(raw.parse()):
            created = float(video.created_at or 0)
            newest_first = newest_first and created <= last
            last = created
            if seen >= RECONCILE_MAX_JOBS or (newest_first and created < since):
                # The rest are older still; a server that ignores `order` is read up to
                # the bound.
                break
            if created >= since:
                found.append(video)
    except openai.APIError as exc:
        raise translate(exc) from exc
    return found


def proves_own(video: Video, marker: dict[str, Any]) -> bool:
    """Whether a listed job (already known to be created after the send) is the one the
    marker's request made: every compared field present in the server's answer and equal
    to what was sent. A field the server leaves out proves nothing, so it is no match."""
    if marker["operation"] == "create":
        fields: tuple[str, ...] = ("prompt", "model", "size", "seconds")
    else:
        fields = ("prompt",)
    sent = {name: marker[name] for name in fields}
    if marker["operation"] == "remix":
        sent["remixed_from_video_id"] = marker["source"]
    for name, value in sent.items():
        listed = getattr(video, name, None)
        if listed is None or str(listed) == "" or str(listed) != str(value):
            return False
    return True


def clock_offset(headers: Mapping[str, str]) -> float:
    """Seconds the server's clock is ahead of ours, from its answer's ``Date`` (0 without
    one). The Date is whole seconds, so this errs low by under a second."""
    try:
        stamp = email.utils.parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return 0.0
    if stamp.tzinfo is None:
        return 0.0
    return stamp.timestamp() - time.time()
