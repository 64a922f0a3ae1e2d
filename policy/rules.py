"""Matching the operator's rules against text: words and phrases as whole words (a rule
never fires inside a longer word), any case, any run of spaces between a phrase's words;
regular expressions as written, case-insensitively. Text and words are compared after
Unicode NFKC normalisation and case folding, so full-width letters and ``ß`` / ``SS``
match. Lists for languages written without spaces between words match anywhere."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Languages whose words are not separated by spaces: a word boundary means nothing there.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my"})
WORDS, REGEX = "words", "regex"


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _lines(patterns: str) -> list[str]:
    return [line.strip() for line in patterns.splitlines() if line.strip()]


def regex_error(patterns: str) -> str | None:
    """Why a regular-expression rule does not compile (for admin's form), or None."""
    for line in _lines(patterns):
        try:
            re.compile(line)
        except re.error as exc:
            return f"{line!r}: {exc}"
    return None


@lru_cache(maxsize=1024)
def compile_rule(kind: str, patterns: str, language: str) -> re.Pattern[str] | None:
    """One pattern for a rule's lines (None for a rule with none). Raises re.error for a
    regular expression that does not compile."""
    lines = _lines(patterns)
    if not lines:
        return None
    if kind == REGEX:
        return re.compile("|".join(f"(?:{line})" for line in lines), re.IGNORECASE)
    words = sorted(
        (r"\s+".join(re.escape(part) for part in normalize(line).split()) for line in lines),
        key=len,
        reverse=True,
    )
    body = "|".join(words)
    if language.split("-")[0].lower() in UNSPACED_LANGUAGES:
        return re.compile(f"(?:{body})")
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


@dataclass(frozen=True)
class RuleSpec:
    """What matching needs of a Rule row."""

    id: int
    name: str
    kind: str
    patterns: str
    language: str
    public_reason: str


def first_match(text: str, rules: list[RuleSpec]) -> RuleSpec | None:
    """The first rule (in the order given) that fires on ``text``; a rule whose regular
    expression does not compile is skipped (admin refuses to save one)."""
    plain = unicodedata.normalize("NFKC", text)
    folded = plain.casefold()
    for rule in rules:
        try:
            pattern = compile_rule(rule.kind, rule.patterns, rule.language)
        except re.error:
            continue
        if pattern is not None and pattern.search(plain if rule.kind == REGEX else folded):
            return rule
    return None
