"""Writing audit records: ``record`` appends one, taking "from where" (client address, user
agent) from the request it is given or, failing that, the request being served now
(``audit.middleware`` keeps it in a context variable)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.http import HttpRequest

from audit.models import AuditRecord

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the first address of the header named by
    STUDIO_CLIENT_IP_HEADER when the studio sits behind a proxy that sets it."""
    header = settings.STUDIO_CLIENT_IP_HEADER
    value = request.META.get(header, "") if header else ""
    value = value.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "")
    return value or None


def _plain(value: Any) -> Any:
    """Detail values as JSON can hold them (dates, UUIDs, decimals as text)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return DjangoJSONEncoder().default(value) if not isinstance(value, Model) else str(value)


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
    """Append one audit record: ``action`` (dotted, e.g. ``signup.approved``), who did it
    (``actor``; default the request's user), the object it was done to (``target``, or
    ``target_ref``: its model label, id and name when the object itself is gone), and
    ``detail`` (JSON-able keywords); ``system``: the studio did it itself, whoever's request
    it happened in. A command or a worker records no address."""
    request = request or current_request.get()
    if target is not None:
        target_ref = (target._meta.label_lower, str(target.pk), str(target))
    kind, ident, name = target_ref or ("", "", "")
    if actor is None and request is not None and not system:
        actor = getattr(request, "user", None)
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditRecord.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_name=(user.get_username() if user is not None else "system" if system else "")[:150],
        action=action[:60],
        target_type=str(kind)[:100],
        target_id=str(ident)[:64],
        target_repr=str(name)[:200],
        detail=_plain(detail),
        ip=client_ip(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else "",
    )
