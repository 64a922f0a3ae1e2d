"""The web archive import through a real Celery worker process: the request only stores the
zip; the worker imports it, and the uploads page shows its progress and then its report."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from generations.models import Asset
from library.models import ArchiveImport, Imported
from tests.conftest import wait_for
from tests.generations.test_uploads import mp4_bytes, png_bytes
from tests.library.test_import import _zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_imports_the_uploaded_zip_and_the_page_reports_each_file(
    client, user, start_worker, tmp_path
):
    client.force_login(user)
    valid = mp4_bytes()
    path = tmp_path / "export.zip"
    path.write_bytes(
        _zip(
            {
                "clips/valid.mp4": valid,
                "clips/truncated.mp4": valid[: len(valid) // 2],
                "still.png": png_bytes((40, 30)),
                "../../evil.mp4": valid[::-1] + b"x",
                "clips/again.mp4": valid,
            }
        )
    )
    start_worker()
    with path.open("rb") as f:
        response = client.post(reverse("library_import"), {"archive": f}, follow=True)
    assert "export.zip is being imported." in response.content.decode()
    job = ArchiveImport.objects.get(owner=user)
    status = reverse("library_import_status", args=[job.pk])

    def finished() -> str:
        html = client.get(status).content.decode()
        return html if "hx-get" not in html else ""

    html = wait_for(finished, 90, "the worker to finish the import")
    job.refresh_from_db()
    assert job.state == ArchiveImport.State.DONE and (job.done_files, job.total_files) == (5, 5)
    assert "2 imported, 1 already in your library, 2 refused." in html
    assert "../../evil.mp4: Unsafe name: files must stay inside the archive." in html
    assert "clips/again.mp4: already in your library (same SHA-256), skipped." in html
    assert "clips/truncated.mp4:" in html
    assert sorted(Imported.objects.values_list("path_in_archive", flat=True)) == [
        "clips/valid.mp4",
        "still.png",
    ]
    assert Asset.objects.filter(owner=user).count() == 2
    media = Path(settings.MEDIA_ROOT)
    assert not list((media / "imports").rglob("*.zip"))  # the stored zip went with the job
    assert not list(media.parent.rglob("evil.mp4"))
