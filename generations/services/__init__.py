"""Services: everything that changes Assets, Generations and Videos.

Views, tasks, admin actions and commands call these; nothing else writes the models. By
topic: ``transitions`` (the state machine's one conditional UPDATE), ``admission`` (the
plan's concurrent-job slots), ``creation`` (a spec becomes a queued job; cancel, retry),
``pipeline`` (submit, poll, download, the reaper), ``assets`` (uploads and deletions).
Tasks are sent by name through ``steps`` / ``core.dispatch``, never imported.
"""

from __future__ import annotations

from generations.services.admission import generation_admit_waiting
from generations.services.assets import asset_create, asset_delete, video_delete
from generations.services.creation import (
    generation_cancel,
    generation_compare,
    generation_create,
    generation_delete,
    generation_retry,
)
from generations.services.pipeline import (
    generation_download,
    generation_poll,
    generation_poll_for_job,
    generation_reap,
    generation_submit,
)
from generations.services.sweep import orphans_sweep
from generations.services.transitions import (
    IllegalTransition,
    generation_end,
    generation_transition,
)

__all__ = [
    "IllegalTransition",
    "asset_create",
    "asset_delete",
    "generation_admit_waiting",
    "generation_cancel",
    "generation_compare",
    "generation_create",
    "generation_delete",
    "generation_download",
    "generation_end",
    "generation_poll",
    "generation_poll_for_job",
    "generation_reap",
    "generation_retry",
    "generation_submit",
    "generation_transition",
    "orphans_sweep",
    "video_delete",
]
