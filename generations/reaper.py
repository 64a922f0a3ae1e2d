"""The reaper as a thread, for workers that run without beat: the embedded default's worker
(STUDIO_WORKER_REAPER) and ``manage.py generate --with-worker``. Reaping is idempotent
(conditional updates), so a beat and any number of these may run at once."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection

from generations.services import generation_reap

log = logging.getLogger(__name__)


class ReaperThread(threading.Thread):
    """Runs ``generation_reap`` every ``interval`` seconds until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="studio-reaper", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                close_old_connections()
                try:
                    generation_reap()
                except Exception:
                    log.exception("the reaper failed; it runs again in %.0f s", self.interval)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
