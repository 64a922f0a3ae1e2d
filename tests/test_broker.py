"""The embedded broker (``filesystem://``): a reader never sees half a message, a file that
cannot be read is set aside instead of killing the consumer, and a message goes to exactly
one consumer."""

from __future__ import annotations

import threading
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

import studio.celery  # noqa: F401  (makes filesystem:// the studio's transport)
from studio.settings import filesystem_broker_options


def _connection(folder: Path) -> Connection:
    return Connection("filesystem://", transport_options=filesystem_broker_options(folder))


def test_filesystem_urls_use_the_studios_atomic_transport(tmp_path):
    with _connection(tmp_path) as conn:
        assert type(conn.transport).__module__ == "studio.broker"


def test_a_reader_racing_a_writer_gets_every_message_whole_and_once(tmp_path):
    count, big = 300, "x" * 200_000  # large messages keep each write open for a while
    received: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        with _connection(tmp_path) as conn:
            queue = conn.SimpleQueue("race")
            for n in range(count):
                queue.put({"n": n, "pad": big})

    writer = threading.Thread(target=write)
    writer.start()
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("race")
        while len(received) < count and (writer.is_alive() or len(received) < count):
            try:
                message = queue.get(timeout=5)
            except Empty:
                if not writer.is_alive():
                    break
                continue
            except Exception as exc:  # a half-written message
                errors.append(exc)
                break
            received.append(message.payload["n"])
            assert message.payload["pad"] == big
            message.ack()
    writer.join()

    assert errors == []
    assert sorted(received) == list(range(count))


def test_an_unreadable_message_is_set_aside_and_the_next_one_delivered(tmp_path):
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("jobs")
        queue.put({"n": 1})
        folder = tmp_path / "broker" / "queue"
        (folder / "0_torn.jobs.msg").write_text('{"body": "half a mess')  # sorts first

        message = queue.get(timeout=5)

        assert message.payload == {"n": 1}
        message.ack()
        assert [p.name for p in (tmp_path / "broker" / "corrupt").iterdir()] == ["0_torn.jobs.msg"]
        with pytest.raises(Empty):
            queue.get(timeout=0.2)


def test_two_consumers_never_get_the_same_message(tmp_path):
    with _connection(tmp_path) as conn:
        producer = conn.SimpleQueue("shared")
        for n in range(200):
            producer.put({"n": n})
    got: list[list[int]] = [[], []]

    def consume(into: list[int]) -> None:
        with _connection(tmp_path) as conn:
            queue = conn.SimpleQueue("shared")
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except Empty:
                    return
                into.append(message.payload["n"])
                message.ack()

    threads = [threading.Thread(target=consume, args=(into,)) for into in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(got[0] + got[1]) == list(range(200))
