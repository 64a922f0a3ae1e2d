"""Optional error reporting to Sentry (SENTRY_DSN), with the Django and Celery integrations.
Prompts are creators' words: unless the operator allows it (STUDIO_SENTRY_SEND_PROMPTS),
no prompt text, request body, local variable or log message leaves the studio."""

from __future__ import annotations

from typing import Any, cast

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.types import Event

SCRUBBED = "[withheld]"
PROMPT_KEYS = frozenset({"prompt", "negative_prompt", "revised_prompt", "caption", "text"})


def init_sentry(*, dsn: str, environment: str, send_prompts: bool, traces_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=send_prompts,
        max_request_body_size="medium" if send_prompts else "never",
        traces_sample_rate=traces_rate,
        before_send=None if send_prompts else _withhold_prompts,
        before_breadcrumb=None if send_prompts else _withhold_breadcrumb,
    )


def _withhold_prompts(event: Event, hint: dict[str, Any]) -> Event:
    """Replace any value under a prompt-like key, anywhere in the event."""
    return cast(Event, _scrub(event))


def _withhold_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    # Log messages may quote a prompt: keep that a line was logged, not what it said.
    if crumb.get("category") not in {"query", "http", "httplib"}:
        crumb = {**crumb, "message": SCRUBBED, "data": {}}
    return crumb


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: SCRUBBED if str(key).lower() in PROMPT_KEYS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value
