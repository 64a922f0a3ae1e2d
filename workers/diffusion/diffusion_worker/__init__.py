"""Studio's diffusion worker: runs diffusers video pipelines for jobs on the Celery ``gpu`` queue.

This module is the wire contract and must stay free of heavy imports (no torch, no
diffusers), so the Studio side can copy or import these names without pulling them in.
The job spec, progress and result shapes are documented in ``README.md`` beside the package.
"""

from __future__ import annotations

import os

# Weights only ever come from a local directory or the HF cache volume. huggingface_hub
# reads this when it is first imported, so set it before anything else can import it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TASK_NAME = "studio.diffusion.generate"
QUEUE = "gpu"

CANCEL_KEY_PREFIX = "studio:diffusion:cancel:"
WORKER_KEY_PREFIX = "studio:diffusion:workers:"

# Class names of the exceptions a failed or revoked task carries in its result. Celery
# rebuilds them on the Studio side by name even where this package is not importable.
EXC_CANCELLED = "JobCancelled"
EXC_INVALID_SPEC = "InvalidJobSpec"
EXC_MODEL_NOT_AVAILABLE = "ModelNotAvailable"


def cancel_key(task_id: str) -> str:
    """Redis key whose existence asks the running job ``task_id`` to stop."""
    return f"{CANCEL_KEY_PREFIX}{task_id}"


def worker_key(hostname: str) -> str:
    """Redis key under which the worker ``hostname`` announces itself."""
    return f"{WORKER_KEY_PREFIX}{hostname}"
