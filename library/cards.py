"""What a grid tile needs to keep its video's shape: each take's width:height, and the
card's width relative to its height (the takes side by side), for justified rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse

from generations.models import Asset, Generation, Video
from media.frames import ASPECT_RATIOS


@dataclass(frozen=True)
class Take:
    video: Video
    width: int
    height: int

    @property
    def ratio(self) -> float:
        return self.width / self.height if self.height else 16 / 9

    @property
    def share(self) -> int:
        """The take's flex-grow beside its siblings: its width:height, scaled so the shares
        always fill the card (a flex-grow sum under 1 would leave a gap)."""
        return round(self.ratio * 1000)

    # Reversed here, not by {% url %} per take: the grid renders many of them.
    @property
    def urls(self) -> dict[str, str]:
        pk = str(self.video.pk)
        return {
            "detail": reverse("video_detail", args=[pk]),
            "poster": reverse("video_poster", args=[pk]),
            "file": reverse("video_file", args=[pk]),
        }


@dataclass(frozen=True)
class Card:
    generation: Generation
    takes: list[Take]
    favourite: bool
    folder: Any

    @property
    def ratio(self) -> float:
        """Width over height of the whole card: its takes side by side."""
        return sum(t.width / t.height for t in self.takes) or 16 / 9

    @property
    def duration(self) -> float:
        return self.takes[0].video.duration if self.takes else float(self.generation.seconds)


def _shape(video: Video, generation: Generation) -> tuple[int, int]:
    if video.width and video.height:
        return video.width, video.height
    w, h = ASPECT_RATIOS.get(generation.aspect_ratio, (16, 9))
    return w, h


def _entry(obj: Generation | Asset) -> Any:
    try:
        return obj.library_entry
    except ObjectDoesNotExist:  # no entry yet
        return None


def generation_cards(generations: list[Generation]) -> list[Card]:
    cards = []
    for generation in generations:
        takes = [Take(v, *_shape(v, generation)) for v in generation.videos.all()]
        entry = _entry(generation)
        cards.append(
            Card(
                generation=generation,
                takes=takes,
                favourite=bool(entry and entry.favourite),
                folder=entry.folder if entry else None,
            )
        )
    return cards


@dataclass(frozen=True)
class UploadCard:
    asset: Asset
    favourite: bool
    folder: Any
    label: str

    @property
    def ratio(self) -> float:
        return self.asset.width / self.asset.height if self.asset.height else 1.0


def upload_cards(assets: list[Asset]) -> list[UploadCard]:
    cards = []
    for asset in assets:
        entry = _entry(asset)
        try:
            label = asset.imported.label
        except ObjectDoesNotExist:  # not imported
            label = "Uploaded"
        cards.append(
            UploadCard(
                asset=asset,
                favourite=bool(entry and entry.favourite),
                folder=entry.folder if entry else None,
                label=label,
            )
        )
    return cards
