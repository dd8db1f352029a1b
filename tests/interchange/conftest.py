"""Shared by the interchange tests of every standard: derive's results of a cohort under every
shipped definition set (the round trips compare the demo's with the re-imported cohort's), and
the comparison of tables that went through an export and an import.

The comparison is exact, floats included: a cohort reads a value converted to canonical units to
12 significant digits (``cohort.rounding.SIGNIFICANT_DIGITS``), the digits an import and an export
write, so the demo's 0.56 mg/dL creatinine is 49.504 µmol/L whether read from the demo or from
its round trip, and everything derived from it is the same double. NaN equals NaN here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from srnskit.cohort.load import read_cohort
from srnskit.definitions.model import load_definitions
from srnskit.engine import Derived, derive_many

TODAY = dt.date(2026, 12, 1)
SETS = ("seed2023", "kdigo2021", "ipna2020")


def derived_under_every_set(cohort: Path | str) -> dict[str, Derived]:
    """derive's results of the cohort at ``cohort`` (a folder, or a URL ``read_cohort`` reads)
    under seed2023, kdigo2021 and ipna2020, by set name; ``TODAY`` is the reference date."""
    with read_cohort(cohort, today=TODAY) as loaded:
        results = derive_many(loaded, [load_definitions(name) for name in SETS])
    return dict(zip(SETS, results, strict=True))


def _same(found: Any, expected: Any) -> bool:
    if isinstance(found, float) and isinstance(expected, float) and math.isnan(expected):
        return math.isnan(found)
    return bool(found == expected) and type(found) is type(expected)


def assert_rows_match(
    found: Sequence[Sequence[Any]], expected: Sequence[Sequence[Any]], what: str = ""
) -> None:
    """``found`` has ``expected``'s rows in order, each cell equal (NaN to NaN);
    ``what`` names the table in the message."""
    assert len(found) == len(expected), f"{what}: {len(found)} rows, expected {len(expected)}"
    for number, (row, wanted) in enumerate(zip(found, expected, strict=True)):
        assert len(row) == len(wanted), f"{what}: row {number}: {row} != {wanted}"
        assert all(_same(a, b) for a, b in zip(row, wanted, strict=True)), (
            f"{what}: row {number}: {row} != {wanted}"
        )


def assert_tables_match(found: pa.Table, expected: pa.Table, what: str = "") -> None:
    """``found`` is ``expected``: the same schema and rows in the same order, each cell equal
    (NaN to NaN); ``what`` names the table in the message."""
    assert found.schema.equals(expected.schema), f"{what}: {found.schema} != {expected.schema}"
    for name in expected.column_names:
        left, right = found.column(name), expected.column(name)
        if left.equals(right):
            continue
        assert pa.types.is_floating(right.type), f"{what}: column {name} differs"
        assert_rows_match(
            [(v,) for v in left.to_pylist()], [(v,) for v in right.to_pylist()], f"{what}.{name}"
        )
