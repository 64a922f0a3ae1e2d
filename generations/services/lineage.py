"""Lineage: which videos a generation was made from (its parents, each with a role), written
when the generation is created and read by the library's "made from" / "used in"."""

from __future__ import annotations

from generations.models import Generation, Lineage, Video


def lineage_parent_video(generation: Generation) -> Video | None:
    """The video an edit starts from: the remixed/extended one, else the parent's first."""
    if generation.source_video_id:
        return generation.source_video
    if generation.parent_id is not None:
        return Video.objects.filter(generation_id=generation.parent_id).order_by("index").first()
    return None


def lineage_record(generation: Generation) -> list[Lineage]:
    """Write the lineage rows of a new generation from its parent / source video (one
    "source" row for edit-prompt, remix and extend), or from the upload it was made from
    (``parent_asset``: an imported file); none for a plain create. Idempotent."""
    if generation.parent_id is None and generation.source_video_id is None:
        if generation.parent_asset_id is None:
            return []
        row, _ = Lineage.objects.get_or_create(
            child=generation,
            role=Lineage.Role.SOURCE,
            position=0,
            defaults={"parent_asset_id": generation.parent_asset_id},
        )
        return [row]
    video = lineage_parent_video(generation)
    parent_generation_id = generation.parent_id or (video.generation_id if video else None)
    row, _ = Lineage.objects.get_or_create(
        child=generation,
        role=Lineage.Role.SOURCE,
        position=0,
        defaults={"parent_generation_id": parent_generation_id, "parent_video": video},
    )
    return [row]
