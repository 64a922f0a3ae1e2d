"""The Celery application: configured from Django settings (CELERY_*), tasks found in apps."""

from __future__ import annotations

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# The embedded broker (an empty CELERY_BROKER_URL) is kombu's filesystem transport with
# atomic writes and exclusive claims: see studio.broker.
TRANSPORT_ALIASES["filesystem"] = "studio.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
