"""The media disk fills up while a job is saved: a real, small tmpfs as the worker's
MEDIA_ROOT, filled to within a few KB. The download is tried again with backoff; once
space is back the job ends ``succeeded``; if it never comes back the job ends ``failed``
saying that the storage is full. Either way no partial file is left behind."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.conftest
from generations import services
from generations.models import GenerationEvent
from generations.spec import GenerationSpec
from generations.states import State
from tests.conftest import wait_final, wait_for
from tests.faults.conftest import assert_clean_end, orphan_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def full_media(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """MEDIA_ROOT (here and in the workers) on a 4 MB tmpfs with about 16 KB free."""
    mount = tmp_path / "media"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        filler = mount / "filler"
        with filler.open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass
        with filler.open("r+b") as f:
            f.truncate(filler.stat().st_size - 16 * 1024)
        settings.MEDIA_ROOT = mount
        env = tests.conftest.worker_env
        monkeypatch.setattr(
            tests.conftest, "worker_env", lambda var: {**env(var), "MEDIA_ROOT": str(mount)}
        )
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _job(user: Any) -> Any:
    return services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="sand through fingers", resolution="480p", seconds=1),
    )


def _storing_retried(generation: Any):
    def check() -> bool:
        generation.refresh_from_db()
        return generation.state == State.DOWNLOADING and generation.polls >= 2

    return check


@pytest.mark.xfail(
    reason="the offline renderer now saves its own output to storage (issue 16), so a full"
    " disk stops the render's save before the download's retries this test waits for; to be"
    " rewritten on a provider whose download is the job's first write",
    run=False,
)
def test_the_job_is_saved_once_space_is_back(full_media, start_worker, user):
    start_worker()
    generation = _job(user)
    wait_for(_storing_retried(generation), 120, "saving to fail on the full disk")
    assert orphan_files(user.pk) == []  # nothing half-written meanwhile

    (full_media / "filler").unlink()

    wait_final(generation, timeout=120)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert_clean_end(generation)


def test_the_job_fails_saying_so_when_space_never_comes_back(full_media, start_worker, user):
    start_worker()
    generation = _job(user)

    wait_final(generation, timeout=180)

    assert generation.state == State.FAILED
    assert generation.error_code == "storage_full"
    assert "storage is full" in generation.error_message
    assert generation.videos.count() == 0
    # A retry still under way when another ended the job finds it ended and cleans up.
    wait_for(lambda: orphan_files(user.pk) == [], 60, "no file to be left over")
    assert GenerationEvent.objects.filter(generation=generation, to_state="failed").count() == 1
