"""Words for people: a count with its noun in the right number ("1 child", "2 children"), and
the nearest of some names to a mistyped one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["counted", "nearest"]

# How alike two spellings must be for one to be offered for the other (difflib's ratio, 0–1;
# 0.6 is difflib's own default for get_close_matches).
_NEAR = 0.6


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun: ``singular`` for exactly one, else ``plural`` (default: ``singular``
    with an "s"): ``counted(1, "child", "children")`` is "1 child", ``counted(0, "course")``
    "0 courses". ``n`` is printed as given (no thousands separator)."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` that ``word`` most likely meant: the same name in another case
    ("p001" → "P001"), else the closest spelling compared without case (difflib's ratio at
    least 0.6); None when none is that close or ``word`` is itself a choice."""
    options = list(dict.fromkeys(choices))
    if word in options:
        return None
    lowered: dict[str, str] = {}
    for option in options:
        lowered.setdefault(option.lower(), option)
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=_NEAR)
    return lowered[close[0]] if close else None
