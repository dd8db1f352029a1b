"""Validation problems as records: where (table, row, column), what, and how serious."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Problem", "Severity", "did_you_mean"]

Severity = Literal["error", "warning"]


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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to a near miss, else ``''``."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""
