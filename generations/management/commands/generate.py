"""`manage.py generate "prompt"`: run one generation through the same services and pipeline
as the dashboard, print its progress and the path of each video. For scripts and smoke
checks. Needs a running worker, or `--with-worker` to start one inside this process (with
the reaper beside it, so a job a killed run left behind is resumed or ended). Prints where
each video is: its path on local storage, its URL on object storage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from celery import current_app
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.storage import location
from generations import services
from generations.models import Generation
from generations.reaper import ReaperThread
from generations.spec import GenerationSpec
from generations.states import State
from media.frames import ASPECT_RATIOS, RESOLUTIONS


@contextmanager
def _worker_and_reaper() -> Iterator[None]:
    """A Celery worker in this process, and the reaper (there is no beat here)."""
    reaper = ReaperThread(settings.STUDIO_REAPER_INTERVAL)
    with start_worker(
        current_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=["priority", "standard", "media"],
    ):
        reaper.start()
        try:
            yield
        finally:
            reaper.stop()


class Command(BaseCommand):
    help = "Generate a video from a prompt through the normal pipeline and print its path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prompt")
        parser.add_argument("--user", default="studio-cli", help="owner (made if missing)")
        parser.add_argument("--resolution", choices=list(RESOLUTIONS), default="720p")
        parser.add_argument("--aspect-ratio", choices=list(ASPECT_RATIOS), default="16:9")
        parser.add_argument("--seconds", type=int, default=5)
        parser.add_argument("--variations", type=int, default=1)
        parser.add_argument("--provider", default=None)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--priority", action="store_true")
        parser.add_argument("--timeout", type=float, default=600.0)
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="start a Celery worker inside this process for the duration of the job",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user, _ = User.objects.get_or_create(username=options["user"])
        worker: AbstractContextManager[Any] = nullcontext()
        if options["with_worker"]:
            worker = _worker_and_reaper()
        with worker:
            try:
                spec = GenerationSpec(
                    prompt=options["prompt"],
                    resolution=options["resolution"],
                    aspect_ratio=options["aspect_ratio"],
                    seconds=options["seconds"],
                    variations=options["variations"],
                    priority=options["priority"],
                    provider=options["provider"] or "",
                    seed=options["seed"],
                )
                generation = services.generation_create(owner=user, spec=spec)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"generation {generation.pk} queued")
            generation = self._follow(generation, options["timeout"])
        if generation.state != State.SUCCEEDED:
            raise CommandError(
                f"generation {generation.pk} ended {generation.state}: {generation.error_message}"
            )
        for video in generation.videos.order_by("index"):
            self.stdout.write(location(video.file))

    def _follow(self, generation: Generation, timeout: float) -> Generation:
        deadline = time.monotonic() + timeout
        seen: tuple[str, int] = ("", -1)
        while time.monotonic() < deadline:
            generation.refresh_from_db()
            now = (generation.state, generation.progress)
            if now != seen:
                self.stdout.write(f"{generation.get_state_display():<11} {generation.progress:3d}%")
                seen = now
            if generation.is_final:
                return generation
            time.sleep(0.25)
        raise CommandError(
            f"generation {generation.pk} did not finish in {timeout:.0f} s "
            "(is a worker running? try --with-worker)"
        )
