"""Words for people: a count with its noun in the right number ("1 child", "2 children"), rows
counted by table ("1 patient, 3 measurements"), and the nearest of some names to a mistyped one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

__all__ = ["counted", "nearest", "table_rows"]

# How alike two spellings must be for one to be offered for the other (difflib's ratio, 0–1;
# 0.6 is difflib's own default for get_close_matches).
_NEAR = 0.6


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun: ``singular`` for exactly one, else ``plural`` (default: ``singular``
    with an "s"): ``counted(1, "child", "children")`` is "1 child", ``counted(0, "course")``
    "0 courses". ``n`` is printed as given (no thousands separator)."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def table_rows(rows: Mapping[str, int]) -> str:
    """Rows counted by table, in ``rows``' order, a table's name (plural, as the cohort's
    tables are named) in words, singular for one row: ``{"patients": 1, "adverse_events": 3}``
    is "1 patient, 3 adverse events"."""
    words = {name: name.replace("_", " ") for name in rows}
    return ", ".join(
        counted(n, words[name].removesuffix("s"), words[name]) for name, n in rows.items()
    )


def nearest(word: str, choices: Iterable[str]) -> list[str]:
    """The ones of ``choices`` that ``word`` most likely meant, in ``choices``' order: the same
    name in another case ("p001" → ["P001"]), else every spelling equally closest compared
    without case (difflib's ratio, at least 0.6), and of those, the ones that differ from
    ``word`` only by a repeated character typed once too few or too many, when there are any:
    "SYN000002" → ["SYN0000002"], though "SYN0000052" and "SYN0000020" are as near by the ratio
    (one character more each); "SYN00004" → ["SYN000014", "SYN000024"], equally likely. Empty
    when none is that close or ``word`` is itself a choice."""
    options = list(dict.fromkeys(choices))
    if word in options:
        return []
    lowered: dict[str, str] = {}
    for option in options:
        lowered.setdefault(option.lower(), option)
    if word.lower() in lowered:
        return [lowered[word.lower()]]
    matcher = difflib.SequenceMatcher(b=word.lower())
    scored = []
    for low, option in lowered.items():
        matcher.set_seq1(low)
        # difflib's own cheap bounds first, as get_close_matches does
        if matcher.real_quick_ratio() >= _NEAR and matcher.quick_ratio() >= _NEAR:
            ratio = matcher.ratio()
            if ratio >= _NEAR:
                scored.append((ratio, option))
    if not scored:
        return []
    best = max(ratio for ratio, _ in scored)
    tied = [option for ratio, option in scored if ratio == best]
    # Among equally near ones, a repeated character typed once or twice (SYN000002 for
    # SYN0000002) is the likeliest slip: prefer those, when there are any.
    slipped = [option for option in tied if _repeat_slip(word.lower(), option.lower())]
    return slipped or tied


def _repeat_slip(word: str, option: str) -> bool:
    """Whether ``option`` is ``word`` with one character of a run of equal ones added or
    dropped ("syn000002" → "syn0000002"; "p11" → "p1")."""
    longer, shorter = (option, word) if len(option) > len(word) else (word, option)
    if len(longer) != len(shorter) + 1:
        return False
    for i, char in enumerate(longer):
        if longer[:i] + longer[i + 1 :] == shorter:
            before = i > 0 and longer[i - 1] == char
            after = i + 1 < len(longer) and longer[i + 1] == char
            if before or after:
                return True
    return False
