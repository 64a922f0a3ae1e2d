"""The title card's text layout: bounded work for any prompt, the same lines as before for
ordinary ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import ImageFont

from media.titles import MAX_TITLE_LINES, _fit_title, title_overlay

# Far more than a bounded layout needs (a few hundred) and far fewer than the old one spent
# on a 2000-character word (its cost grew with the cube of the word's length).
MEASUREMENT_BUDGET = 3000


class OverBudget(Exception):
    pass


@pytest.fixture
def measurements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the font measurements (and their characters) the layout makes; stops it once
    it spends more than the budget, so a cubic layout fails fast instead of hanging."""
    counted = [0, 0]
    real = ImageFont.FreeTypeFont.getlength

    def counting(self: ImageFont.FreeTypeFont, text: str, *args: object, **kw: object) -> float:
        counted[0] += 1
        counted[1] += len(text)
        if counted[0] > MEASUREMENT_BUDGET:
            raise OverBudget(f"{counted[0]} measurements")
        return real(self, text, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageFont.FreeTypeFont, "getlength", counting)
    yield counted


HOSTILE = {
    "one 2000-character word": "x" * 2000,
    "a 1999-character word and one more": "y" * 1999 + " z",
    "a thousand one-letter words": "a " * 1000,
    "48 forty-letter words": " ".join(["ab" * 20] * 48),
}


@pytest.mark.parametrize("size", [(1920, 1080), (480, 480)], ids=["1080p", "480-square"])
@pytest.mark.parametrize("prompt", list(HOSTILE.values()), ids=list(HOSTILE))
def test_any_prompt_is_laid_out_with_a_bounded_number_of_measurements(measurements, prompt, size):
    width, height = size
    font, lines, _ = _fit_title(prompt, width, height)

    assert measurements[0] <= MEASUREMENT_BUDGET
    # Each measurement is about a line long, never the whole prompt again and again.
    assert measurements[1] <= 120 * len(prompt)
    assert 1 <= len(lines) <= MAX_TITLE_LINES
    # All of it, or as much as fits and an ellipsis.
    assert lines[-1].endswith("…") or " ".join(lines) == " ".join(prompt.split())
    assert all(font.getlength(line) <= width * 0.84 for line in lines)


def test_a_long_word_is_cut_into_full_lines_then_an_ellipsis(measurements):
    font, lines, _ = _fit_title("x" * 2000, 480, 480)

    assert len(lines) == MAX_TITLE_LINES
    for line in lines[:-1]:  # each cut line is as full as the frame allows
        assert font.getlength(line) <= 480 * 0.84 < font.getlength(line + "x")
    assert set("".join(lines)) == {"x", "…"}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a paper boat on a pond", ["a paper boat", "on a pond"]),
        ("supercalifragilisticexpialidocious " * 2, None),
        ("Untitled", ["Untitled"]),
    ],
)
def test_ordinary_prompts_wrap_at_spaces_as_before(prompt, expected):
    font, lines, _ = _fit_title(prompt, 480, 480)

    assert " ".join(lines).replace(" ", "") == prompt.replace(" ", "")
    if expected is not None:
        assert lines == expected
    assert all(font.getlength(line) <= 480 * 0.84 for line in lines)


def test_the_overlay_of_a_hostile_prompt_is_drawn():
    overlay = title_overlay("x" * 2000, 1280, 720)

    assert overlay.light.getbbox() is not None  # some text was drawn
    assert overlay.light.width <= 1280 and overlay.light.height <= 720
