"""Read a cohort (a folder of CSV/Parquet files, an .xlsx workbook or a DuckDB file) as text.

Everything is read as text first, with the row number a person would see (the header is row 1
in every format), so validation can name the exact place of every problem before any value is
converted. ``cohort/load.py`` then turns the validated text into typed, canonical tables.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES, FORMAT_VERSION
from srnskit.schema.problems import Problem, did_you_mean

__all__ = ["ROW_COLUMN", "RawCohort", "RawTable", "read_raw_cohort"]

ROW_COLUMN = "_row"
# Rows per chunk when a Parquet file is read: validation and loading take one chunk of text at a
# time, so the whole file is never held as text at once (a million children: 64 M rows).
CHUNK_ROWS = 1_000_000
# Sheets that `srnskit template` adds to a workbook besides the tables: never data.
TEMPLATE_SHEETS = frozenset({"about", "columns", "lists", "units"})
_OTHER_SEPARATORS = {";": "';'", "\t": "a tab", "|": "'|'"}
_SETTINGS_KEYS = frozenset({"name", "center_id", "format_version"})


@dataclass
class RawTable:
    """One table as read: its columns (as in the header, lower case) and its rows as text.

    ``chunks()`` yields the rows in order as Arrow tables of text (None for an empty cell), each
    with ``_row``, the row number a person would see; at least one chunk, possibly empty.
    """

    name: str
    source: str
    columns: list[str]
    rows: int
    chunks: Callable[[], Iterator[pa.Table]]

    @classmethod
    def of(cls, name: str, source: str, data: pa.Table) -> RawTable:
        """A table held in memory whole (CSV files, sheets): one chunk."""
        columns = [c for c in data.column_names if c != ROW_COLUMN]
        return cls(name, source, columns, data.num_rows, lambda: iter([data]))


@dataclass
class RawCohort:
    """A cohort as read from disk, before validation."""

    path: Path
    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    center_id: str | None = None


def read_raw_cohort(path: Path) -> RawCohort:
    """Read every table of the cohort at ``path`` as text, collecting file-level problems.

    Raises ``UsageError`` when ``path`` does not exist or is not a kind of cohort srnskit reads.
    """
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    cohort = RawCohort(path=path)
    if path.is_dir():
        _read_folder(path, cohort)
    elif path.suffix.lower() == ".xlsx":
        _read_workbook(path, cohort)
    elif path.suffix.lower() in {".duckdb", ".db", ".ddb"}:
        _read_duckdb(path, cohort)
    else:
        raise UsageError(
            f"{path}: not a cohort; give a folder of CSV or Parquet files, an .xlsx workbook "
            "or a .duckdb file"
        )
    if "patients" not in cohort.tables and not any(
        p.table == "patients" and p.severity == "error" for p in cohort.problems
    ):
        cohort.problems.append(
            Problem("patients", None, None, f"no patients table in {path} (it is required)")
        )
    return cohort


# --- folders of CSV / Parquet -------------------------------------------------------------


def _read_folder(folder: Path, cohort: RawCohort) -> None:
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for name in COHORT_TABLES:
        csv_path, parquet_path = files.get(f"{name}.csv"), files.get(f"{name}.parquet")
        if csv_path and parquet_path:
            cohort.problems.append(
                Problem(
                    name,
                    None,
                    None,
                    f"both {csv_path.name} and {parquet_path.name} exist; keep only one",
                )
            )
        elif csv_path:
            _add(cohort, _read_csv(csv_path, name))
        elif parquet_path:
            _add(cohort, _read_parquet(parquet_path, name))
    known = {f"{n}.{ext}" for n in COHORT_TABLES for ext in ("csv", "parquet")} | {"cohort.toml"}
    for lower, file in sorted(files.items()):
        if lower.endswith((".csv", ".parquet")) and lower not in known:
            stem = lower.rsplit(".", 1)[0]
            hint = did_you_mean(stem, COHORT_TABLES)
            cohort.problems.append(
                Problem(
                    stem,
                    None,
                    None,
                    f"{file.name} is not a cohort table and is ignored{hint}",
                    "warning",
                )
            )
    if "cohort.toml" in files:
        _read_settings(files["cohort.toml"], cohort)


def _add(cohort: RawCohort, result: tuple[RawTable | None, list[Problem]]) -> None:
    table, problems = result
    cohort.problems.extend(problems)
    if table is not None:
        cohort.tables[table.name] = table


def _read_csv(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        return None, [Problem(name, None, None, f"{path.name} is empty (not even a header row)")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        message = (
            f"{path.name} is not UTF-8 (byte 0x{byte:02X} on line {line}); save it as "
            "'CSV UTF-8' (in Excel: Save As > CSV UTF-8)"
        )
        return None, [Problem(name, line, None, message)]
    header_line = text.splitlines()[0] if text else ""
    if "," not in header_line:
        for separator, said in _OTHER_SEPARATORS.items():
            if separator in header_line:
                message = f"the file uses {said} as separator; srnskit expects ','"
                return None, [Problem(name, None, None, message)]
    fast = _read_regular_csv(data, text, name, path.name)
    if fast is not None:
        return fast, []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    previous_line = reader.line_num
    width = len(header)
    for record in reader:
        line = previous_line + 1
        previous_line = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if len(record) != width:
            if len(record) > width and not any(v.strip() for v in record[width:]):
                record = record[:width]
            else:
                problems.append(
                    Problem(
                        name,
                        line,
                        None,
                        f"the row has {len(record)} fields; the header has {width}",
                    )
                )
                record = (record + [""] * width)[:width]
        records.append(record)
        rows.append(line)
    columns = list(zip(*records, strict=True)) if records else [() for _ in header]
    table, header_problems = _to_table(name, path.name, header, columns, rows)
    return table, header_problems + problems


def _read_regular_csv(data: bytes, text: str, name: str, source: str) -> RawTable | None:
    """The table read by Arrow's C++ reader when the file is regular, else None.

    Regular: one record per line, no blank line, every row as wide as the header. Then a
    record's row number is its index + 2 and nothing needs the careful reader below, which
    handles (and reports) everything else line by line.
    """
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0].rstrip("\r"))), [])
    names = [h.strip().lower() for h in header]
    if not names or len(set(names)) != len(names) or "" in names or ROW_COLUMN in names:
        return None
    try:
        arrow = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines != arrow.num_rows + 1:  # a blank line or a quoted line break: rows would shift
        return None
    rows = pa.array(range(2, arrow.num_rows + 2), pa.int64())
    return RawTable.of(name, source, arrow.append_column(ROW_COLUMN, rows))


def _read_parquet(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    """The Parquet file read lazily, CHUNK_ROWS rows at a time, each chunk cast to text."""
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        return None, [
            Problem(name, None, None, f"{path.name} is not a readable Parquet file: {exc}")
        ]
    kept, problems = _header(name, file.schema_arrow.names)
    columns = [column for _, column in kept]

    rows = file.metadata.num_rows

    def chunks() -> Iterator[pa.Table]:
        if rows == 0:
            yield _text_table(columns, [[] for _ in columns], [])
        first_row = 2
        for batch in file.iter_batches(batch_size=CHUNK_ROWS):
            numbers = range(first_row, first_row + batch.num_rows)
            first_row += batch.num_rows
            text = [_arrow_column_as_text(pa.chunked_array([batch.column(i)])) for i, _ in kept]
            yield _text_table(columns, text, numbers)

    return RawTable(name, path.name, columns, rows, chunks), problems


def _arrow_to_raw(name: str, source: str, arrow: pa.Table) -> tuple[RawTable | None, list[Problem]]:
    columns = [_arrow_column_as_text(arrow.column(i)) for i in range(arrow.num_columns)]
    rows = range(2, arrow.num_rows + 2)
    return _to_table(name, source, arrow.column_names, columns, rows)


def _arrow_column_as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | list[str | None]:
    """A typed column as the text its CSV export would hold (dates ISO, 137.0 as '137')."""
    try:
        return column.cast(pa.string())
    except pa.ArrowException:  # a type with no text cast (nested, binary): as Python text
        return [None if v is None else str(v) for v in column.to_pylist()]


# --- Excel workbooks -----------------------------------------------------------------------


def _read_workbook(path: Path, cohort: RawCohort) -> None:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        cohort.problems.append(
            Problem("patients", None, None, f"{path.name} is not a readable workbook: {exc}")
        )
        return
    sheets = {s.strip().lower(): s for s in workbook.sheet_names}
    for lower, sheet_name in sheets.items():
        if lower in COHORT_TABLES:
            sheet = workbook.get_sheet_by_name(sheet_name)
            values = sheet.to_python(skip_empty_area=False)
            _add(cohort, _sheet_to_raw(lower, f"{path.name}[{sheet_name}]", values))
        elif lower not in TEMPLATE_SHEETS:
            hint = did_you_mean(lower, COHORT_TABLES)
            cohort.problems.append(
                Problem(
                    lower,
                    None,
                    None,
                    f"sheet '{sheet_name}' is not a cohort table and is ignored{hint}",
                    "warning",
                )
            )


def _sheet_to_raw(
    name: str, source: str, values: Sequence[Sequence[Any]]
) -> tuple[RawTable | None, list[Problem]]:
    first = next((i for i, row in enumerate(values) if any(_cell_text(v) for v in row)), None)
    if first is None:
        return None, [Problem(name, None, None, f"sheet {source} is empty (not even a header row)")]
    header = [_cell_text(v) or "" for v in values[first]]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    records: list[list[str | None]] = []
    rows: list[int] = []
    for index in range(first + 1, len(values)):
        cells = [_cell_text(v) for v in values[index]][:width]
        if not any(cells):
            continue
        records.append(cells + [None] * (width - len(cells)))
        rows.append(index + 1)
    columns = list(zip(*records, strict=True)) if records else [() for _ in header]
    return _to_table(name, source, header, columns, rows)


def _cell_text(value: Any) -> str | None:
    """A spreadsheet or Parquet cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


# --- DuckDB files --------------------------------------------------------------------------


def _read_duckdb(path: Path, cohort: RawCohort) -> None:
    import duckdb

    try:
        con = duckdb.connect(
            str(path),
            read_only=True,
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.Error as exc:
        cohort.problems.append(
            Problem("patients", None, None, f"{path.name} is not a readable DuckDB file: {exc}")
        )
        return
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for table_name in names:
            if table_name.lower() in COHORT_TABLES:
                quoted = '"' + table_name.replace('"', '""') + '"'
                arrow = con.execute(f"SELECT * FROM {quoted}").to_arrow_table()
                _add(cohort, _arrow_to_raw(table_name.lower(), f"{path.name}[{table_name}]", arrow))
    finally:
        con.close()


# --- shared --------------------------------------------------------------------------------


def _header(name: str, header: Sequence[Any]) -> tuple[list[tuple[int, str]], list[Problem]]:
    """The columns kept (position from 0, name in lower case) and the header's problems."""
    problems: list[Problem] = []
    kept: list[tuple[int, str]] = []
    for index, raw_name in enumerate(header):
        column_name = str(raw_name).strip().lower()
        if not column_name:
            problems.append(
                Problem(name, 1, None, f"column {index + 1} has no name in the header row")
            )
        elif column_name in (c for _, c in kept) or column_name == ROW_COLUMN:
            problems.append(
                Problem(name, 1, column_name, f"the column '{column_name}' appears twice")
            )
        else:
            kept.append((index, column_name))
    return kept, problems


def _text_table(columns: list[str], values: Sequence[Any], rows: Iterable[int]) -> pa.Table:
    arrays = [v if isinstance(v, pa.ChunkedArray) else pa.array(v, pa.string()) for v in values]
    return pa.table([*arrays, pa.array(rows, pa.int64())], names=[*columns, ROW_COLUMN])


def _to_table(
    name: str,
    source: str,
    header: Sequence[str],
    columns: Sequence[Iterable[str | None]] | Sequence[Any],
    rows: Iterable[int],
) -> tuple[RawTable | None, list[Problem]]:
    kept, problems = _header(name, header)
    names = [column for _, column in kept]
    data = _text_table(names, [columns[index] for index, _ in kept], rows)
    return RawTable.of(name, source, data), problems


def _read_settings(path: Path, cohort: RawCohort) -> None:
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        cohort.problems.append(Problem("cohort.toml", None, None, f"not valid TOML: {exc}"))
        return
    for key in sorted(set(settings) - _SETTINGS_KEYS):
        cohort.problems.append(
            Problem("cohort.toml", None, key, f"unknown setting '{key}' is ignored", "warning")
        )
    version = settings.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        cohort.problems.append(
            Problem(
                "cohort.toml",
                None,
                "format_version",
                f"format_version {version!r} is not supported; this srnskit reads version "
                f"{FORMAT_VERSION}",
            )
        )
    for key in ("name", "center_id"):
        if key in settings and not isinstance(settings[key], str):
            cohort.problems.append(Problem("cohort.toml", None, key, f"'{key}' must be text"))
    name, center = settings.get("name"), settings.get("center_id")
    cohort.name = name if isinstance(name, str) else None
    cohort.center_id = center if isinstance(center, str) else None
