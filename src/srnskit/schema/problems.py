"""Validation problems as records: where (table, row, column), what, and how serious."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "SHOWN_PER_KIND",
    "Problem",
    "Severity",
    "did_you_mean",
    "escaped",
    "kind_of",
    "printable",
    "problem_lines",
]

Severity = Literal["error", "warning"]

# On large inputs each kind of problem is printed at most this many times, then one line counts
# the rest (cohort-format.md §1); ``--json`` lists every one.
SHOWN_PER_KIND = 100
_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"[0-9]+([.,][0-9]+)*")


@dataclass(frozen=True)
class Problem:
    """One problem found in a cohort, printed as ``table:row:column: severity: message``.

    ``row`` counts the header as row 1 in every format (a CSV line, a spreadsheet row, a
    Parquet or DuckDB record number + 1); ``None`` means the whole file or column.
    """

    table: str
    row: int | None
    column: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        row = "-" if self.row is None else self.row
        return f"{self.table}:{row}:{self.column or '-'}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def escaped(text: str) -> str:
    """``text`` with each character Python does not print (``str.isprintable``: Unicode's
    control, format, separator and unassigned characters, the ASCII space excepted) written
    as ``repr`` writes it (``\\n``, ``\\t``, ``\\x00``, ``\\x85``, ``\\u200b``,
    ``\\ufeff``, ``\\u2028``), so a message quoting a cell stays on one line (one problem
    per line, cohort-format.md §4) and an invisible character is seen: ``'P1\\u200b'`` is not
    ``'P1'``. Other text (letters of any script, µ, ×) is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def printable(problems: list[Problem]) -> list[Problem]:
    """``problems`` with every character that does not print ``escaped``, in the message and
    in the table and column it names (a sheet's or a header's name is the file's): a message
    quoting a cell or an origin (``REDCap record 'H-2\\nX'``) prints on one line, an
    invisible character (``'P1\\u200b'``) as its code."""
    return [
        p
        if p.message.isprintable() and p.table.isprintable() and (p.column or "").isprintable()
        else Problem(
            escaped(p.table),
            p.row,
            None if p.column is None else escaped(p.column),
            escaped(p.message),
            p.severity,
        )
        for p in problems
    ]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to a near miss, else ``''``."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""


def kind_of(problem: Problem) -> tuple[str, str | None, str, str]:
    """The kind of ``problem``: its table, column, severity and message with every quoted value
    and number masked (``'x' is not a number`` and ``'1_9' is not a number`` are one kind;
    ``patient 'P7' is not in the patients table`` on any row is one kind)."""
    shape = _NUMBER.sub("#", _QUOTED.sub("'…'", problem.message))
    return problem.table, problem.column, problem.severity, shape


def problem_lines(problems: Sequence[Problem], limit: int = SHOWN_PER_KIND) -> list[str]:
    """The problems as printed lines, each kind (``kind_of``) at most ``limit`` times: after
    its last shown line, one line says how many more of that kind there are
    (``measurements:-:value: error: 2400 more like the line above (…)``), cohort-format.md §1.
    Raises ``ValueError`` when ``limit`` is below 1."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    lines: list[str] = []
    seen: dict[tuple[str, str | None, str, str], int] = {}
    last_shown: dict[tuple[str, str | None, str, str], int] = {}
    for problem in problems:
        kind = kind_of(problem)
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= limit:
            lines.append(str(problem))
            last_shown[kind] = len(lines) - 1
    # Insert the counts from the end, so earlier positions stay right.
    for kind, position in sorted(last_shown.items(), key=lambda item: -item[1]):
        rest = seen[kind] - limit
        if rest > 0:
            table, column, severity, _ = kind
            word = "problem" if rest == 1 else "problems"
            summary = (
                f"{table}:-:{column or '-'}: {severity}: {rest} more {word} like the line above "
                f"not shown ({limit} of each kind are; --json lists every one)"
            )
            lines.insert(position + 1, summary)
    return lines
