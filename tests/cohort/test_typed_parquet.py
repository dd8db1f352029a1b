"""The validation bank again, from Parquet files whose columns have their own types (issue 21
part 5): a date column of dates, a number column of numbers, a yes/no column of booleans is
scanned as it is, not made text and read back. Each cohort of tests/data (invalid and valid)
is written as Parquet with every column typed whose every cell is written exactly as the
type's text would be (so the file says the same as the CSV file), and validation must find
exactly the CSV file's problems, at the same rows, with the same messages; a valid cohort
must load the same canonical tables."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from srnskit.cohort.load import check_cohort, read_cohort
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES
from srnskit.sources.raw import plain_decimal
from tests.conftest import DATA

# The whole bank twice (CSV and Parquet), about 1.5 minutes: `make test-slow`, which CI runs,
# keeps `make test` within its 20 minutes (21 min 56 s with it, 2026-12-01).
pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 12, 1)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_WHOLE = re.compile(r"^-?\d+$")


def _typed(kind: str, cells: list[str | None]) -> pa.Array | None:
    """The cells as an array of ``kind``'s own type when each one's text is exactly that
    value's text (2014-03-01, 137, 0.5, true), else None (kept as text)."""
    present = [c for c in cells if c is not None]
    if not present:
        return None
    if kind == "date" and all(_ISO.match(c) for c in present):
        try:
            return pa.array([None if c is None else dt.date.fromisoformat(c) for c in cells])
        except ValueError:
            return None
    if kind == "integer" and all(_WHOLE.match(c) and str(int(c)) == c for c in present):
        return pa.array([None if c is None else int(c) for c in cells], pa.int64())
    if kind in ("number", "value") and all(
        _NUMBER.match(c) and plain_decimal(float(c)) == c for c in present
    ):
        return pa.array([None if c is None else float(c) for c in cells], pa.float64())
    if kind == "bool" and all(c in ("true", "false") for c in present):
        return pa.array([None if c is None else c == "true" for c in cells])
    return None


def _strings(file: Path) -> pa.Table:
    """The CSV file as Arrow reads it, every column text, an empty cell None."""
    names = pacsv.read_csv(file, read_options=pacsv.ReadOptions(encoding="latin-1")).column_names
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
    )
    return pacsv.read_csv(file, convert_options=options)


def _as_typed_parquet(source: Path, target: Path) -> int:
    """The CSV cohort ``source`` written as Parquet into ``target``; how many columns typed."""
    target.mkdir()
    typed = 0
    for file in source.iterdir():
        if file.suffix != ".csv":
            shutil.copy(file, target / file.name)
            continue
        name = file.stem
        table = _strings(file)
        kinds = {c.name: c.kind for c in COHORT_TABLES[name].columns}
        columns = {}
        for column in table.column_names:
            cells = table[column].to_pylist()
            array = _typed(kinds.get(column, ""), cells)
            typed += array is not None
            columns[column] = array if array is not None else pa.array(cells, pa.string())
        pq.write_table(pa.table(columns), target / f"{name}.parquet")
    return typed


def _readable(folder: Path) -> bool:
    """A cohort of CSV files Arrow reads as they are (the file-level fixtures, such as a file
    not in UTF-8 or with ';' separators, are about CSV files and stay out)."""
    try:
        for file in folder.glob("*.csv"):
            if b"," not in file.read_bytes().split(b"\n", 1)[0]:
                return False  # another separator: the CSV reader's own check
            table = _strings(file)
            if file.stem not in COHORT_TABLES or table.num_rows == 0:
                return False
            lines = file.read_bytes().rstrip(b"\n").count(b"\n")
            if lines != table.num_rows:  # a blank line or a record over two lines
                return False
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return False
    return any(folder.glob("*.csv"))


BANK = sorted(p for kind in ("invalid", "valid") for p in (DATA / kind).iterdir() if _readable(p))


def test_the_bank_has_typed_columns_to_compare(tmp_path: Path) -> None:
    # The comparison means something only if columns are typed: most fixtures have dates.
    typed = sum(_as_typed_parquet(p, tmp_path / p.name) for p in BANK)
    assert len(BANK) >= 25
    assert typed >= 80


@pytest.mark.parametrize("folder", BANK, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_typed_parquet_validates_as_its_csv(folder: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "parquet"
    _as_typed_parquet(folder, parquet)
    as_csv = [p for p in check_cohort(folder, today=TODAY)]
    as_parquet = [p for p in check_cohort(parquet, today=TODAY)]
    assert [str(p) for p in as_parquet] == [
        str(p).replace(str(folder), str(parquet)) for p in as_csv
    ]
    if any(p.severity == "error" for p in as_csv):
        with pytest.raises(InvalidCohortError):
            read_cohort(parquet, today=TODAY).close()
        return
    with read_cohort(folder, today=TODAY) as a, read_cohort(parquet, today=TODAY) as b:
        for name in COHORT_TABLES:
            # In the same order: a Parquet file's measurements load in no set order.
            order = [(c, "ascending") for c in a.to_arrow(name).column_names]
            assert b.to_arrow(name).sort_by(order).equals(a.to_arrow(name).sort_by(order)), name
