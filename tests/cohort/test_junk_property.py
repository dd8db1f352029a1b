"""Issue 16's property: random valid cohorts, written in every format, with random cells replaced
by junk of the kinds clinics write (underscored numbers, NA strings, impossible dates,
thousands separators and decimal commas, text dates with the year last, bounds, dipstick
notations, words), must never load a value other than the one the cell says.

For every cell the test works out what it means by itself (``_Cell.meaning``), from
cohort-format.md §1–2, not from srnskit's code: a value (the number in its canonical unit, the
date, the code), empty, or nothing the format reads (``REJECT``). Then:

- nothing raises but ``InvalidCohortError``;
- every problem names its table, its row (the row a spreadsheet shows, from 2) and its column
  (a row repeated whole names no column: it is the whole row's);
- a cell the format does not read is an error in its table and column, on its row (or, for a
  kind grouped per column, listed in that column's line);
- when the cohort loads, every cell loads as what it means.

``SRNSKIT_PROPERTY_EXAMPLES`` raises the number of examples per format (default 12: under a
minute for the four formats on the 2-core reference machine).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from srnskit.cohort import read_cohort
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES

FORMATS = ("csv", "xlsx", "parquet", "duckdb")
TODAY = dt.date(2045, 1, 1)
EXAMPLES = int(os.environ.get("SRNSKIT_PROPERTY_EXAMPLES", "12"))
REJECT = "reject"  # the cell is nothing the format reads: an error must name it
EMPTY = None  # the cell reads as empty

# analyte → (unit, factor to the canonical unit, plausible low, high in that unit). Factors from
# cohort-format.md §2: 1 g/dL = 10 g/L, 1 mg/dL creatinine = 88.4 umol/L, 1 m = 100 cm.
LABS = {
    "albumin": [("g/L", 1.0, 10.0, 50.0), ("g/dL", 10.0, 1.0, 5.0)],
    "creatinine": [("umol/L", 1.0, 20.0, 900.0), ("mg/dL", 88.4, 0.3, 10.0)],
    "height": [("cm", 1.0, 60.0, 180.0), ("m", 100.0, 0.6, 1.8)],
    "upcr": [("mg/mg", 1.0, 0.05, 20.0)],
    "csa_trough": [("ng/mL", 1.0, 20.0, 400.0)],
}
DIPSTICK = {"neg": 0.0, "negative": 0.0, "trace": 0.5, "±": 0.5, "+": 1.0, "1+": 1.0}
DIPSTICK |= {"++": 2.0, "2+": 2.0, "+++": 3.0, "3+": 3.0, "++++": 4.0, "4+": 4.0}
NA_STRINGS = ["None", "N/A", "-", "na", "nil", "Unknown", "not done", "?", "NULL"]


@dataclass
class _Cell:
    """A cell as written (``text``, or a typed ``typed`` value for formats that keep types) and
    what it means: a value, ``EMPTY`` or ``REJECT``. ``qualifier`` is the bound's '<' or '>'."""

    text: str | None
    meaning: Any
    typed: Any = None
    qualifier: str | None = None
    junk: bool = False


def _plain(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- valid cohorts ---------------------------------------------------------------------------

dates = st.dates(dt.date(2000, 1, 1), dt.date(2015, 12, 31))


@st.composite
def _number(draw: st.DrawFn, low: float, high: float) -> _Cell:
    value = round(draw(st.floats(low, high)), 2)
    return _Cell(_plain(value), float(_plain(value)), typed=float(_plain(value)))


def _date(day: dt.date) -> _Cell:
    return _Cell(day.isoformat(), day, typed=day)


@st.composite
def cohorts(draw: st.DrawFn) -> dict[str, list[dict[str, _Cell]]]:
    patients, births = [], []
    for index in range(draw(st.integers(1, 3))):
        birth = draw(dates)
        onset = birth + dt.timedelta(days=draw(st.integers(365, 3650)))
        births.append((birth, onset))
        sex = draw(st.sampled_from([("F", "F"), ("M", "M"), ("female", "F"), ("Male", "M")]))
        variant = draw(st.sampled_from([None, "NPHS2", "WT1"]))
        patients.append(
            {
                "patient_id": _Cell(f"P{index}", f"P{index}"),
                "sex": _Cell(sex[0], sex[1]),
                "birth_date": _date(birth),
                "onset_date": _date(onset),
                "genetic_testing": _Cell("yes", True) if variant else _Cell(None, EMPTY),
                "genetic_variant": _Cell(variant, variant),
                "histology": _Cell(*[draw(st.sampled_from([None, "FSGS", "MCD"]))] * 2),
            }
        )
    measurements = []
    for day in range(draw(st.integers(1, 5))):
        owner = draw(st.integers(0, len(patients) - 1))
        date = births[owner][1] + dt.timedelta(days=day + draw(st.integers(0, 1000)))
        analyte = draw(st.sampled_from([*LABS, "dipstick"]))
        if analyte == "dipstick":
            word = draw(st.sampled_from(sorted(DIPSTICK)))
            value, unit = _Cell(word, DIPSTICK[word]), _Cell(None, EMPTY)
        else:
            name, factor, low, high = draw(st.sampled_from(LABS[analyte]))
            value = draw(_number(low, high))
            value.meaning *= factor
            unit = _Cell(name, LABS[analyte][0][0])
        measurements.append(
            {
                "patient_id": _Cell(f"P{owner}", f"P{owner}"),
                "date": _date(date),
                "analyte": _Cell(analyte, analyte),
                "value": value,
                "unit": unit,
            }
        )
    treatments = []
    for _ in range(draw(st.integers(1, 3))):
        owner = draw(st.integers(0, len(patients) - 1))
        start = births[owner][1] + dt.timedelta(days=draw(st.integers(0, 1000)))
        end = start + dt.timedelta(days=draw(st.integers(0, 400)))
        treatments.append(
            {
                "patient_id": _Cell(f"P{owner}", f"P{owner}"),
                "drug": _Cell(*[draw(st.sampled_from(["cyclosporine", "mmf", "prednisone"]))] * 2),
                "start_date": _date(start),
                "end_date": _date(end),
                "dose": draw(_number(1, 500)),
                "dose_unit": _Cell("mg/day", "mg/day"),
                "schedule": _Cell(*[draw(st.sampled_from(["daily", "alternate_day"]))] * 2),
            }
        )
    return {"patients": patients, "measurements": measurements, "treatments": treatments}


# --- junk of issue 16's kinds ----------------------------------------------------------------


def _number_junk(cell: _Cell, draw: st.DrawFn) -> _Cell:
    """A number written another way: refused (underscores, commas, exponents, words), or a
    plain decimal the format reads (a sign, a leading or trailing '.', spaces around it)."""
    number = cell.meaning if cell.text is None else float(cell.text)
    whole = int(number)
    kind = draw(st.integers(0, 8))
    if kind == 0:
        return _Cell(f"{whole}_{draw(st.integers(0, 9))}", REJECT)
    if kind == 1:
        return _Cell(f"{whole},{draw(st.integers(0, 9))}", REJECT)  # a decimal comma
    if kind == 2:
        return _Cell(f"{draw(st.integers(1, 9))},{draw(st.integers(0, 999)):03d}", REJECT)
    if kind == 3:
        return _Cell(f"{number:g}e0", REJECT)
    if kind == 4:
        return _Cell(
            draw(st.sampled_from(["high", "x", "nan", "inf", "1..2", "0x10", "12 mg"])), REJECT
        )
    if kind == 5:
        return _Cell(f"  {cell.text}  ", number)
    if kind == 6:
        return _Cell(f"+{cell.text}", number)
    if kind == 7:
        return _Cell(f"{whole}.", float(whole))
    return _Cell(f"0{cell.text}", number)


def _value_junk(row: dict[str, _Cell], draw: st.DrawFn) -> _Cell:
    """A measurement's value: a number's junk, a bound (<0.1), a dipstick notation."""
    cell, analyte = row["value"], row["analyte"].meaning
    if analyte == "dipstick":
        word = draw(st.sampled_from([*DIPSTICK, "+++++", "2++", "pos", "<1+"]))
        spelled = draw(st.sampled_from([word, word.upper(), word.title()]))
        return _Cell(spelled, DIPSTICK.get(word, REJECT))
    factor = cell.meaning / float(cell.text) if float(cell.text) else 1.0
    if draw(st.integers(0, 2)) == 0:
        sign = draw(st.sampled_from(["<", ">", "≤", "≥", "<=", ">=", "< "]))
        meaning = cell.meaning
        return _Cell(
            f"{sign}{cell.text}", meaning, qualifier="<" if "<" in sign or "≤" in sign else ">"
        )
    junk = _number_junk(cell, draw)
    if junk.meaning is not REJECT:
        junk.meaning *= factor
    return junk


def _date_junk(cell: _Cell, draw: st.DrawFn, order: str | None) -> _Cell:
    """A date written another way: before 1900, no such day, a serial, a text date with the
    year last (read with ``order``, else refused), a date-time (read as its date)."""
    day: dt.date = cell.meaning
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return _Cell(draw(st.sampled_from(["0012-01-05", "1700-01-01", "1899-12-31"])), REJECT)
    if kind == 1:
        return _Cell(f"{day.year}-02-30", REJECT)
    if kind == 2:
        return _Cell(str((day - dt.date(1899, 12, 30)).days), REJECT)
    if kind == 3:
        return _Cell(f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:30", day)
    first, second = (day.day, day.month) if draw(st.booleans()) else (day.month, day.day)
    separator = draw(st.sampled_from(["/", ".", "-"]))
    text = f"{first:02d}{separator}{second:02d}{separator}{day.year}"
    return _Cell(text, _read_year_last(first, second, day.year, order))


def _read_year_last(first: int, second: int, year: int, order: str | None) -> Any:
    if order is None:
        return REJECT
    day, month = (first, second) if order == "dmy" else (second, first)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return REJECT


def _junk(
    table: str, column: str, row: dict[str, _Cell], draw: st.DrawFn, order: str | None
) -> _Cell:
    cell = row[column]
    kind = COHORT_TABLES[table].column(column).kind
    if column == "value":
        return _value_junk(row, draw)
    if kind == "date":
        return _date_junk(cell, draw, order)
    if kind == "number" and draw(st.booleans()):  # an optional number: nothing, said in words
        return _Cell(draw(st.sampled_from(NA_STRINGS)), EMPTY)
    if kind == "number":
        junk = _number_junk(cell, draw)
        # 'nan' is also a word for nothing (an NA string): in an optional number it reads as
        # empty, with a warning (docs/decisions.md), where a required value refuses it.
        return _Cell(junk.text, EMPTY) if junk.text == "nan" else junk
    if column in ("end_date", "schedule"):  # empty would say "ongoing", "daily": refused
        return _Cell(draw(st.sampled_from(NA_STRINGS)), REJECT)
    if column == "sex":
        word = draw(st.sampled_from(["FEMALE", "m", "2", "girl"]))
        return _Cell(word, {"FEMALE": "F", "m": "M"}.get(word, REJECT))
    # An optional text or code column: an NA string (a word for nothing) reads as empty.
    return _Cell(draw(st.sampled_from(NA_STRINGS)), EMPTY)


JUNK_COLUMNS = {
    "patients": ["sex", "birth_date", "onset_date", "genetic_variant", "histology"],
    "measurements": ["date", "value", "value", "value"],
    "treatments": ["start_date", "end_date", "dose", "schedule"],
}


@st.composite
def junk_cohorts(draw: st.DrawFn) -> tuple[dict[str, list[dict[str, _Cell]]], str | None, bool]:
    tables = draw(cohorts())
    order = draw(st.sampled_from([None, "dmy", "mdy"]))
    for _ in range(draw(st.integers(0, 4))):
        table = draw(st.sampled_from(sorted(JUNK_COLUMNS)))
        row = draw(st.sampled_from(tables[table]))
        column = draw(st.sampled_from(JUNK_COLUMNS[table]))
        if row[column].junk:
            continue
        row[column] = _junk(table, column, row, draw, order)
        row[column].junk = True
    return tables, order, draw(st.booleans())


# --- writing in each format ------------------------------------------------------------------


def _column(cells: list[_Cell], typed: bool) -> pa.Array:
    """Typed (float64, date32) when asked and every cell has a typed value, else text."""
    if typed and all(c.typed is not None and not c.junk for c in cells):
        kind = pa.date32() if isinstance(cells[0].typed, dt.date) else pa.float64()
        return pa.array([c.typed for c in cells], kind)
    return pa.array([c.text for c in cells], pa.string())


def write(folder: Path, fmt: str, tables: dict[str, list[dict[str, _Cell]]], typed: bool) -> Path:
    """The cohort in ``fmt``; with ``typed`` numbers and dates keep their types where the
    format has them (Excel cells, Parquet and DuckDB columns)."""
    arrows = {
        name: pa.table({c: _column([r[c] for r in rows], typed) for c in rows[0]})
        for name, rows in tables.items()
    }
    if fmt == "csv":
        for name, rows in tables.items():
            text = pa.table({c: pa.array([r[c].text for r in rows], pa.string()) for c in rows[0]})
            pacsv.write_csv(
                text, folder / f"{name}.csv", pacsv.WriteOptions(quoting_style="needed")
            )
        return folder
    if fmt == "parquet":
        for name, data in arrows.items():
            pq.write_table(data, folder / f"{name}.parquet")
        return folder
    if fmt == "xlsx":
        workbook = Workbook()
        workbook.remove(workbook.active)
        for name, rows in tables.items():
            sheet = workbook.create_sheet(name)
            sheet.append(list(rows[0]))
            for r in rows:
                sheet.append(
                    [
                        c.typed if typed and c.typed is not None and not c.junk else c.text
                        for c in r.values()
                    ]
                )
        workbook.save(folder / "cohort.xlsx")
        return folder / "cohort.xlsx"
    con = duckdb.connect(str(folder / "cohort.duckdb"))
    for name, data in arrows.items():
        con.register("data", data)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM data")
        con.unregister("data")
    con.close()
    return folder / "cohort.duckdb"


# --- the property ----------------------------------------------------------------------------


def _named(problems: list, table: str, row: int, column: str, text: str) -> bool:
    """An error in ``table``'s ``column`` on ``row`` that quotes the cell's ``text`` (not, say,
    "305 is implausible" for a '30_5' read as 305), or a line of a kind grouped per column
    that lists ``row``."""
    for p in problems:
        if p.severity != "error" or p.table != table or p.column != column:
            continue
        listed = re.search(r"rows? ([0-9, ]+)(?: and [0-9]+ more)?", p.message)
        if p.row == row and text.strip() in p.message:
            return True
        if listed and str(row) in re.split(r"[, ]+", listed.group(1)):
            return True
    return False


def _check_loaded(cohort: Any, tables: dict[str, list[dict[str, _Cell]]]) -> None:
    patients = {r["patient_id"]: r for r in cohort.to_arrow("patients").to_pylist()}
    for source in tables["patients"]:
        loaded = patients[source["patient_id"].meaning]
        for column, cell in source.items():
            assert loaded[column] == cell.meaning, (column, cell)
    measurements = {r["source_row"]: r for r in cohort.to_arrow("measurements").to_pylist()}
    for index, source in enumerate(tables["measurements"], start=2):
        loaded = measurements[index]
        for column in ("patient_id", "date", "analyte", "unit"):
            assert loaded[column] == source[column].meaning, (column, source[column])
        assert loaded["value"] == pytest.approx(source["value"].meaning, rel=1e-12)
        assert loaded["qualifier"] == source["value"].qualifier
    treatments = cohort.to_arrow("treatments").to_pylist()
    assert len(treatments) == len(tables["treatments"])
    for loaded, source in zip(treatments, tables["treatments"], strict=True):
        for column, cell in source.items():
            if column == "dose" and cell.meaning is not None:
                assert loaded[column] == pytest.approx(cell.meaning, rel=1e-12)
            else:
                assert loaded[column] == cell.meaning, (column, cell)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_junk_never_loads_as_another_value(tmp_path_factory, fmt: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(junk_cohorts())
    def check(case: tuple[dict[str, list[dict[str, _Cell]]], str | None, bool]) -> None:
        tables, order, typed = case
        path = write(tmp_path_factory.mktemp(fmt), fmt, tables, typed)
        try:
            cohort = read_cohort(path, today=TODAY, date_order=order)  # type: ignore[arg-type]
        except InvalidCohortError as exc:
            problems, cohort = exc.problems, None
        else:
            problems = cohort.warnings
        for p in problems:
            assert p.table in COHORT_TABLES, str(p)
            assert p.row is not None, str(p)
            assert p.row >= 2, str(p)
            assert p.column is not None or "repeats row" in p.message, str(p)
        for name, rows in tables.items():
            for row, record in enumerate(rows, start=2):
                for column, cell in record.items():
                    if cell.meaning is REJECT:
                        assert _named(problems, name, row, column, str(cell.text)), (
                            name,
                            row,
                            column,
                            cell,
                            [str(p) for p in problems],
                        )
        if cohort is not None:
            with cohort:
                _check_loaded(cohort, tables)

    check()
