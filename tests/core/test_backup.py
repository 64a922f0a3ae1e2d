"""A backup of a studio on object storage, restored into a fresh database and a fresh
bucket by the management commands in new processes, gives back every video: the same
bytes, playable frame by frame, its Content Credentials valid and still the studio's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.backup import BackupError, restore
from tests.objectstore import CREDENTIALS, S3Server, on_s3, start_s3_server
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent

CHECK = """
import io, json, tempfile
from pathlib import Path
import av, django
django.setup()
from delivery.finishing import signing_identity
from generations.models import Video
from media.probe import file_sha256
from media.provenance import read_credentials
identity, report = signing_identity(), []
for video in Video.objects.order_by("created_at"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.mp4"
        path.write_bytes(video.delivery.read())
        with av.open(str(path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        credentials = read_credentials(path, identity=identity)
        report.append({"id": str(video.pk), "frames": frames, "sha256": file_sha256(path),
                       "state": credentials.state, "ours": credentials.ours,
                       "master": len(video.file.read()), "owner": video.owner.username})
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.server.stop()


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the suite's engine (dropped afterwards)."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    db = connection.settings_dict
    name = f"restore_{uuid.uuid4().hex[:10]}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    admin = f"host={host} port={port} user={db['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER']}@{host}:{port}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_every_video_playable_with_valid_credentials(
    s3, user, tmp_path, fresh_database, settings
):
    live = f"live-{uuid.uuid4().hex[:8]}"
    with on_s3(s3, live):
        made = [
            make_finished(user).videos.get(),
            make_finished(user, prompt="a slow tide").videos.get(),
        ]
        call_command("backup", str(tmp_path / "backup"))
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert len(manifest["files"]) == 6  # master, delivery and poster of each
    assert manifest["signing_identity"]

    restored_bucket = f"restored-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=restored_bucket)
    env = {
        **os.environ,
        **CREDENTIALS,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": fresh_database,
        "STUDIO_STORAGE": "s3",
        "STUDIO_S3_BUCKET": restored_bucket,
        "STUDIO_S3_ENDPOINT_URL": s3.endpoint,
        "STUDIO_S3_ADDRESSING_STYLE": "path",
        "STUDIO_S3_PREFIX": "media",
        "STUDIO_VAR_DIR": str(tmp_path / "new-box"),
        "STUDIO_C2PA_DIR": str(tmp_path / "new-box" / "c2pa"),
    }

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput")
    assert "Restored the database and 6 files" in manage("restore", str(tmp_path / "backup"))
    assert sorted(s3.keys(restored_bucket)) == sorted(f"media/{n}" for n in manifest["files"])

    checked = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    report = json.loads(checked.stdout.strip().splitlines()[-1])
    assert [r["id"] for r in report] == [str(v.pk) for v in made]
    for row, video in zip(report, made, strict=True):
        assert row["sha256"] == video.sha256
        assert row["frames"] == video.generation.seconds * video.fps
        assert (row["state"], row["ours"]) == ("valid", True)
        assert row["master"] > 0 and row["owner"] == user.username

    # A second restore into the now-full studio is refused, and changes nothing.
    again = subprocess.run(
        [sys.executable, "manage.py", "restore", str(tmp_path / "backup")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode != 0 and "already has users" in again.stderr


def test_a_damaged_backup_restores_nothing(s3, user, tmp_path):
    with on_s3(s3, f"live-{uuid.uuid4().hex[:8]}"):
        make_finished(user)
        call_command("backup", str(tmp_path / "backup"))
    poster = next((tmp_path / "backup" / "media").rglob("poster.jpg"))
    poster.write_bytes(b"not the poster")
    with (
        on_s3(s3, f"empty-{uuid.uuid4().hex[:8]}") as _,
        pytest.raises(BackupError, match="damaged"),
    ):
        restore(tmp_path / "backup")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup", str(tmp_path / "backup"))
