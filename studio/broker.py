"""The embedded broker: kombu's filesystem transport, made safe to share between processes.

kombu's own transport writes a message straight into the queue folder under its final
name, so a consumer polling the folder can read it half-written ("Unrecoverable error:
JSONDecodeError" kills the worker, and the message is gone); and it claims a message by
moving it to the system's temporary folder, a copy and a delete when that is another
filesystem, so two consumers can both take it. Here a message is written to a hidden
temporary file in the queue folder and renamed into place (readers see all of it or
nothing), claimed by a rename within the broker's own folders (exactly one consumer wins),
and a file that still cannot be read is set aside in ``corrupt/`` and logged instead of
killing the worker. ``studio.celery`` makes ``filesystem://`` mean this transport.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic, sleep
from typing import Any

from celery.worker import state as worker_state
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    """A filesystem channel whose writes are atomic and whose claims are exclusive."""

    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Write ``payload`` under a hidden name, then rename it into the queue folder."""
        folder = Path(self.data_folder_out)
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        data = str_to_bytes(dumps(payload))
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".put-", suffix=".part")
        except OSError as exc:
            raise ChannelError(f"Cannot add a message to {folder}") from exc
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, folder / name)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ChannelError(f"Cannot add a message to {folder}") from exc

    def _get(self, queue: str) -> dict[str, Any]:  # type: ignore[override]
        """Claim the oldest message of ``queue`` by renaming it out of the queue folder."""
        wanted = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        claimed = Path(self.processed_folder)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            path = claimed / name
            try:
                os.rename(folder / name, path)
            except OSError:
                continue  # another consumer took it
            try:
                payload = path.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read the message {path}") from exc
            try:
                message: dict[str, Any] = loads(bytes_to_str(payload))
            except ValueError:
                self._set_aside(path)
                continue
            if not self.store_processed:
                path.unlink(missing_ok=True)
            return message
        raise Empty()

    def _set_aside(self, path: Path) -> None:
        corrupt = path.parent.parent / "corrupt"
        corrupt.mkdir(exist_ok=True)
        os.replace(path, corrupt / path.name)
        log.error("broker: set aside an unreadable message %s", corrupt / path.name)


def _worker_stopping() -> bool:
    """Whether this process is a Celery worker told to stop (the flags hold an exit code,
    0 included, once set)."""
    flags: tuple[Any, ...] = (
        getattr(worker_state, "should_stop", None),
        getattr(worker_state, "should_terminate", None),
    )
    return any(flag is not None and flag is not False for flag in flags)


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        """kombu's polling loop, which also gives up as soon as the worker is told to stop.

        A transport without an event loop is driven by Celery's ``synloop``, which waits
        ``drain_events(timeout=2.0)`` and, once SIGTERM has set the stop flag, one more full
        wait in its ``finally``: 2 to 4 s of an idle worker's shutdown. Here every poll
        looks at the flag first."""
        cycle = self.cycle
        assert cycle is not None
        started = monotonic()
        interval = self.polling_interval or 0.0
        if timeout is not None:
            interval = min(interval, timeout)
        while True:
            if _worker_stopping():
                raise TimeoutError()
            try:
                cycle.get(self._deliver, timeout=timeout)
            except Empty:
                if timeout is not None and monotonic() - started >= timeout:
                    raise TimeoutError() from None
                sleep(interval)
            else:
                return
