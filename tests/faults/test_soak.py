"""The soak in CI: 200 of the shortest jobs through the embedded default exactly as
``./dev run`` has it (SQLite, the filesystem broker, one real worker with its reaper), by
``bench/soak.py`` in a fresh folder: every job succeeds once, none is lost or stuck, no
message is set aside, the worker is alive at the end. ``bench/soak.py`` runs 1,000 by hand."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.worker

JOBS = 200


def test_200_jobs_through_the_embedded_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "bench/soak.py", "--jobs", str(JOBS), "--timeout", "900"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1000,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    assert f"final states {{'succeeded': {JOBS}}}" in out
    assert "not final (lost or stuck) 0" in out
    assert "submitted twice 0, extra videos 0" in out
    assert "messages set aside 0, worker alive at the end True" in out
    assert re.search(r"jobs 200 in \d+ s", out)
