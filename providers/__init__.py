"""Generation backends: the contract (``base``), the registry, one folder per backend.

A backend imports ``providers.base``, ``media`` and ``core`` only; what it needs of the
rest of Studio arrives as arguments, a callback or a signal (``base.job_updated``).
"""
