"""How a text cell reads (cohort-format.md §1–2), as the Ibis expressions of ``cohort.parse``
that every engine compiles, run here on DuckDB through ``DuckDBChecks``. Each expected value is
the format's own reading of the cell, worked out by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import ibis
import pytest

from srnskit.cohort.expressions import DuckDBChecks
from srnskit.cohort.parse import (
    bool_value,
    date_value,
    enum_value,
    measurement_value,
    number_value,
    qualifier_value,
    register_units,
    unit_key_value,
    units_table,
)
from srnskit.schema import COHORT_TABLES, unit_key


def _engine(cells: list[tuple[str | None, ...]]) -> DuckDBChecks:
    con = duckdb.connect()
    con.execute("CREATE TABLE cells_t (a VARCHAR, b VARCHAR, c VARCHAR)")
    if cells:
        con.executemany("INSERT INTO cells_t VALUES (?, ?, ?)", cells)
    con.execute("CREATE VIEW raw_t AS SELECT rowid + 2 AS _row, * FROM cells_t")
    return DuckDBChecks(con)


def _read(cells: list[str | None], reading: Any) -> list[Any]:
    engine = _engine([(c, None, None) for c in cells])
    raw = engine.raw_table("t")
    return [r["v"] for r in engine.rows(raw.select(r=raw._row, v=reading(raw.a)).order_by("r"))]


def test_dates_are_iso_a_date_time_is_its_day_and_no_such_day_is_nothing() -> None:
    cells = ["2023-01-05", "2023-01-05T10:30", "2023-01-05 10:30:00Z", "2023-02-30", "05/01/2023"]
    assert _read(cells, date_value) == [dt.date(2023, 1, 5)] * 3 + [None, None]


def test_a_cell_ending_in_a_line_break_reads_as_nothing_on_every_engine() -> None:
    # Java's $ (Spark) matches before a final line break, RE2's (DuckDB) does not: the patterns
    # end in \\z, so '2014-01-01\\n' is no date and '3\\n' no number on both.
    assert _read(["2014-01-01\n", "2014-01-01"], date_value) == [None, dt.date(2014, 1, 1)]
    assert _read(["3\n", "3"], number_value) == [None, 3.0]


def test_numbers_are_plain_decimals_only() -> None:
    cells = ["1.5", "+.5", "-3", "3.", "1_9", "1,200", "1e3", "nan", "inf", None]
    assert _read(cells, number_value) == [1.5, 0.5, -3.0, 3.0] + [None] * 6


def test_yes_no_and_their_spellings() -> None:
    cells = ["yes", "Y", "1", "True", "no", "n", "0", "F", "maybe"]
    assert _read(cells, bool_value) == [True] * 4 + [False] * 4 + [None]


def test_codes_read_case_insensitively_and_through_their_aliases() -> None:
    sex = COHORT_TABLES["patients"].column("sex")
    assert _read(["f", "M", "x", "1"], lambda c: enum_value(c, sex)) == ["F", "M", None, None]


def test_units_fold_case_spaces_and_micro_signs() -> None:
    # "ΜMOL/L" is µmol/L upper-cased: its first letter is the Greek capital Μ (U+039C).
    assert _read([" µmol/L", "μmol/l", "MG / dL", "\u039cMOL/L"], unit_key_value) == [
        "umol/l",
        "umol/l",
        "mg/dl",
        "umol/l",
    ]
    assert unit_key("\u039cMOL/L") == unit_key("µmol/L") == "umol/l"


def test_a_measurement_reads_dipstick_levels_bounds_and_plain_numbers() -> None:
    rows = [
        ("dipstick", "neg", None),  # level 0
        ("dipstick", "3+", None),  # level 3
        ("dipstick", "++", None),  # level 2
        ("creatinine", "<0.1", None),  # the bound's number, qualifier '<'
        ("albumin", "≥ 45", None),  # '≥' is '>'
        ("albumin", "30", "<"),  # the qualifier column's
        ("albumin", "<x", None),  # a bound with no number: nothing
        ("creatinine", "neg", None),  # a dipstick word is no creatinine
    ]
    engine = _engine(rows)
    raw = engine.raw_table("t")
    qualifier = COHORT_TABLES["measurements"].column("qualifier")
    found = engine.rows(
        raw.select(
            r=raw._row,
            value=measurement_value(raw.a, raw.b),
            qualifier=qualifier_value(raw.b, raw.c, qualifier),
        ).order_by("r")
    )
    assert [(f["value"], f["qualifier"]) for f in found] == [
        (0.0, None),
        (3.0, None),
        (2.0, None),
        (0.1, "<"),
        (45.0, ">"),
        (30.0, "<"),
        (None, "<"),
        (None, None),
    ]


def test_the_units_table_holds_each_spelling_once_with_its_factor() -> None:
    engine = _engine([])
    register_units(engine.con)
    units = units_table()
    creatinine = units.filter((units.analyte == "creatinine") & (units.unit_key == "mg/dl"))
    (row,) = engine.rows(creatinine.select("canonical", "factor"))
    # 1 mg/dL of creatinine = 88.4 µmol/L (molar mass 113.12 g/mol: 10 000 / 113.12).
    assert row["canonical"] == "umol/L"
    assert row["factor"] == pytest.approx(88.4, abs=0.05)


def test_a_rewrite_changes_only_the_rows_it_names_and_later_reads_see_it() -> None:
    engine = _engine([("NA", None, None), ("3", None, None), ("na", None, None)])
    raw = engine.raw_table("t")
    engine.rewrite("t", "a", ibis.null("string"), raw.a.lower() == "na")
    engine.rewrite("t", "a", raw.a + ".0", raw.a == "3")
    assert [r["a"] for r in engine.rows(raw.order_by("_row"))] == [None, "3.0", None]
    kept = engine.keep("kept_t", raw.aggregate(n=raw.a.count(), last=raw._row.max()))
    assert engine.rows(kept) == [{"n": 1, "last": 4}]
    engine.drop("kept_t")
    assert engine.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'kept_t'"
    ).fetchone() == (0,)
