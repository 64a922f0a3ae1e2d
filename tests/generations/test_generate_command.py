"""`manage.py generate` runs a job through the same pipeline and prints the file path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import pytest
from django.core.management import CommandError, call_command

from generations.models import Generation
from tests.conftest import ROOT, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_generate_prints_progress_and_the_path_of_a_playable_video(var_dir):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "generate",
            "a kite above a beach",
            "--resolution",
            "480p",
            "--aspect-ratio",
            "1:1",
            "--seconds",
            "1",
            "--with-worker",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=worker_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    progress = lines[1:-1]
    assert len(progress) >= 2, lines  # at least where it started and where it ended
    assert "Done" in progress[-1] and "100%" in progress[-1]
    path = Path(lines[-1])
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (480, 480)
    generation = Generation.objects.get()
    assert generation.owner.username == "studio-cli"


def test_generate_refuses_bad_settings_with_a_clear_message():
    with pytest.raises(CommandError, match="Duration must be"):
        call_command("generate", "a kite", "--seconds", "25")
    assert not Generation.objects.exists()


def test_generate_with_worker_reaps_a_job_a_killed_run_left_running(var_dir, django_user_model):
    """A job left ``running`` by a killed worker held the only slot of the plan: without a
    reaper the next job waited in ``queued`` forever."""
    from datetime import timedelta

    from django.utils import timezone

    from generations.states import State
    from tests.factories import make_generation

    owner = django_user_model.objects.create_user("studio-cli")
    stuck = make_generation(
        owner, state=State.RUNNING, provider="offline", provider_job_id="offline-gone"
    )
    Generation.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=10))

    result = subprocess.run(
        [sys.executable, "manage.py", "generate", "a kite", "--resolution", "480p"]
        + ["--aspect-ratio", "1:1", "--seconds", "1", "--with-worker", "--timeout", "120"],
        cwd=ROOT,
        env=worker_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, (result.stdout[-1000:], result.stderr[-2000:])
    stuck.refresh_from_db()
    assert stuck.state == State.FAILED
    assert stuck.error_message == "The render job was lost."
    assert Generation.objects.exclude(pk=stuck.pk).get().state == State.SUCCEEDED
