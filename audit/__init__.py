"""The audit trail: append-only records of operator and security-relevant actions (who, what,
when, from where). Other apps call ``audit.record(...)``; signal receivers record logins,
failed logins, logouts and every change made through Django admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import Model
    from django.http import HttpRequest

    from audit.models import AuditRecord


def record(
    action: str,
    *,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    target: Model | None = None,
    request: HttpRequest | None = None,
    target_ref: tuple[str, str, str] | None = None,
    system: bool = False,
    **detail: Any,
) -> AuditRecord:
    """Append one record (see ``audit.records.record``)."""
    from audit.records import record as append

    return append(
        action,
        actor=actor,
        target=target,
        request=request,
        target_ref=target_ref,
        system=system,
        **detail,
    )
