"""Expected failures of a diffusion job; their class names are part of the wire contract."""

from __future__ import annotations


class DiffusionJobError(Exception):
    """Base class: a job ended for a reason the worker understands."""

    permanent = True


class InvalidJobSpec(DiffusionJobError):
    """The job spec is malformed or asks for something the preset cannot do. Do not retry."""


class ModelNotAvailable(DiffusionJobError):
    """The preset's weights are not on this machine. Do not retry until they are fetched."""


class JobCancelled(DiffusionJobError):
    """The job was cancelled through its Redis flag; no output file was left behind."""
