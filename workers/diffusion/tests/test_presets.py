"""Snapping, spec validation, capabilities and model-source overrides (pure Python)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from diffusion_worker.errors import InvalidJobSpec
from diffusion_worker.presets import (
    PRESETS,
    JobSpec,
    capabilities,
    get_preset,
    model_source,
    snap,
    snap_frames,
    snap_size,
)


def spec(**kw: Any) -> JobSpec:
    return JobSpec.from_dict({"prompt": "a cat", "output_path": "/tmp/x.mp4", **kw})


def test_ltx_720p_snaps_to_704_and_frames_to_8k_plus_1() -> None:
    plan = snap(spec(preset="ltx-0.9.8-distilled", width=1280, height=720, seconds=5))
    assert (plan.width, plan.height, plan.frames, plan.fps) == (1280, 704, 121, 24)
    assert plan.seconds == pytest.approx(121 / 24, abs=1e-3)
    assert "height 720 -> 704" in plan.adjustments
    assert "frames 120 -> 121" in plan.adjustments


@pytest.mark.parametrize(
    ("frames", "expected"),
    [(1, 9), (9, 9), (12, 9), (13, 17), (100, 97), (121, 121), (1000, 257)],
)
def test_ltx_frames_snap_to_nearest_8k_plus_1_within_caps(frames: int, expected: int) -> None:
    assert snap_frames(PRESETS["ltx-0.9.8-distilled"], frames) == expected


@pytest.mark.parametrize(
    ("frames", "expected"),
    [(1, 5), (8, 9), (80, 81), (82, 81), (500, 81)],
)
def test_wan21_frames_snap_to_4k_plus_1_within_caps(frames: int, expected: int) -> None:
    assert snap_frames(PRESETS["wan2.1-1.3b"], frames) == expected


def test_sizes_floor_to_each_presets_multiple() -> None:
    assert snap_size(PRESETS["ltx-0.9.8-distilled"], 850, 470) == (832, 448)
    assert snap_size(PRESETS["wan2.1-1.3b"], 810, 470) == (800, 464)
    assert snap_size(PRESETS["wan2.2-ti2v-5b"], 1280, 720) == (1280, 704)
    assert snap_size(PRESETS["ltx-0.9.8-distilled"], 10, 10) == (32, 32)


def test_size_over_the_cap_shrinks_keeping_the_aspect() -> None:
    plan = snap(spec(preset="wan2.1-1.3b", width=1920, height=1080))
    assert plan.width * plan.height <= PRESETS["wan2.1-1.3b"].max_pixels
    assert plan.width % 16 == 0 and plan.height % 16 == 0
    assert plan.width / plan.height == pytest.approx(16 / 9, rel=0.05)


def test_defaults_come_from_the_preset() -> None:
    plan = snap(spec(preset="wan2.1-1.3b"))
    assert (plan.width, plan.height, plan.frames, plan.fps, plan.steps, plan.guidance) == (
        832,
        480,
        81,
        16,
        50,
        5.0,
    )
    assert plan.adjustments == ()
    plan = snap(spec())
    assert plan.preset.id == "ltx-0.9.8-distilled"
    assert (plan.steps, plan.guidance, plan.fps, plan.frames) == (8, 1.0, 24, 121)


def test_portrait_first_frame_without_size_gives_a_portrait_video() -> None:
    plan = snap(spec(preset="wan2.2-ti2v-5b", image_path="/tmp/a.png"), image_size=(720, 1280))
    assert plan.mode == "i2v"
    assert plan.height > plan.width
    assert plan.width % 32 == 0 and plan.height % 32 == 0


def test_image_to_video_on_a_text_only_preset_is_refused() -> None:
    with pytest.raises(InvalidJobSpec, match="no image-to-video"):
        snap(spec(preset="wan2.1-1.3b", image_path="/tmp/a.png"))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"prompt": ""}, "prompt is required"),
        ({"output_path": "relative.mp4"}, "absolute"),
        ({"output_path": "/tmp/x.webm"}, ".mp4"),
        ({"width": True}, "width must be an integer"),
        ({"steps": 1000}, "steps must be between"),
        ({"seed": -1}, "seed must be between"),
        ({"seconds": 0}, "seconds must be positive"),
        ({"preset": "sora-2"}, "unknown preset"),
    ],
)
def test_bad_specs_are_refused_with_a_clear_message(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidJobSpec, match=message):
        snap(spec(**bad))


def test_unknown_fields_are_ignored_and_listed() -> None:
    job = spec(generation_id=7, whatever="x")
    assert job.ignored_fields == ("generation_id", "whatever")


def test_capabilities_are_plain_json_for_every_preset() -> None:
    caps = json.loads(json.dumps(capabilities()))
    by_id = {c["id"]: c for c in caps}
    assert set(by_id) == {"ltx-0.9.8-distilled", "wan2.1-1.3b", "wan2.2-ti2v-5b"}
    assert by_id["ltx-0.9.8-distilled"]["modes"] == ["t2v", "i2v"]
    assert by_id["wan2.1-1.3b"]["modes"] == ["t2v"]
    assert by_id["wan2.2-ti2v-5b"]["size_multiple"] == 32
    assert by_id["wan2.1-1.3b"]["max_seconds"] == pytest.approx(81 / 16, abs=1e-3)


def test_model_source_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    ltx = PRESETS["ltx-0.9.8-distilled"]
    monkeypatch.delenv("STUDIO_DIFFUSION_MODEL_DIR_LTX_0_9_8_DISTILLED", raising=False)
    monkeypatch.delenv("STUDIO_DIFFUSION_MODELS", raising=False)
    assert model_source(ltx) == ltx.repo
    monkeypatch.setenv("STUDIO_DIFFUSION_MODELS", json.dumps({"ltx-0.9.8-distilled": "org/other"}))
    assert model_source(ltx) == "org/other"
    monkeypatch.setenv("STUDIO_DIFFUSION_MODEL_DIR_LTX_0_9_8_DISTILLED", "/models/ltx")
    assert model_source(ltx) == "/models/ltx"


def test_an_operator_side_cap_shrinks_requests_and_the_announced_caps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ltx = get_preset("ltx-0.9.8-distilled")
    monkeypatch.setenv("STUDIO_DIFFUSION_MAX_SIDE", "64")

    width, height = snap_size(ltx, 854, 480)

    assert (width, height) == (64, 32)
    entry = next(c for c in capabilities() if c["id"] == ltx.id)
    assert entry["max_side"] == 64
    assert entry["max_pixels"] == 1280 * 720 * 64**2 // 1280**2
