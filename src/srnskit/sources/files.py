"""Read a cohort (a folder of CSV/Parquet files, an .xlsx workbook or a DuckDB file) as text.

Everything is read as text first, with the row number a person would see (the header is row 1
in every format), so validation can name the exact place of every problem before any value is
converted. ``cohort/load.py`` then turns the validated text into typed, canonical tables.

This module reads a folder (CSV and Parquet files, ``cohort.toml``) and hands a workbook to
``workbook.py``, a DuckDB file to ``duckdb_file.py``; what they build is in ``raw.py``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES, FORMAT_VERSION
from srnskit.schema.problems import Problem
from srnskit.schema.tables import FORMAT_VERSIONS_READ
from srnskit.sources.duckdb_file import read_duckdb
from srnskit.sources.parquet import (
    CHUNK_ROWS,
    misnamed_parts,
    read_parquet_table,
    written_table,
)
from srnskit.sources.raw import (
    ROW_COLUMN,
    RawCohort,
    RawTable,
    add_table,
    as_written,
    case_clashes,
    column_name,
    header_row_below,
    sql_literal,
    text_table,
    to_raw_table,
)
from srnskit.sources.workbook import read_workbook, table_meant

# ROW_COLUMN, RawCohort and RawTable (sources/raw.py) are offered here too: the cohort layer
# takes what it reads from this one entry point.
__all__ = [
    "CHUNK_ROWS",
    "ROW_COLUMN",
    "RawCohort",
    "RawTable",
    "as_written",
    "read_raw_cohort",
    "read_settings",
]

_OTHER_SEPARATORS = {";": "';'", "\t": "a tab", "|": "'|'"}
_SETTINGS_KEYS = frozenset({"name", "center_id", "format_version"})


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
        read_workbook(path, cohort)
    elif path.suffix.lower() in {".duckdb", ".db", ".ddb"}:
        read_duckdb(path, cohort)
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
    entries = sorted(folder.iterdir())
    cohort.problems.extend(case_clashes(p.name for p in entries))
    files = {p.name.lower(): p for p in entries if p.is_file()}
    for part in (p for p in entries if p.is_dir()):
        stem, _, extension = part.name.lower().rpartition(".")
        if stem in COHORT_TABLES and extension in ("parquet", "csv"):
            # A table written in parts (a folder of part files, as Spark writes one): read as
            # one table when Parquet (sources.parquet); CSV is written as one file.
            if extension == "csv":
                message = (
                    f"{part.name} is a folder (a table written in parts), not read: write the "
                    f"table as one file, {stem}.csv, or as Parquet ({stem}.parquet, a file or a "
                    "folder of part files)"
                )
                cohort.problems.append(Problem(stem, None, None, message))
            else:
                files[part.name.lower()] = part
        elif written_table(part):
            # A table written in parts under a near name: never ignored while the cohort is
            # valid.
            problem = misnamed_parts(part.name)
            if problem is not None:
                cohort.problems.append(problem)
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
            add_table(cohort, _read_csv(csv_path, name))
        elif parquet_path:
            add_table(cohort, read_parquet_table(parquet_path, name))
    known = {f"{n}.{ext}" for n in COHORT_TABLES for ext in ("csv", "parquet")} | {"cohort.toml"}
    for lower, file in sorted(files.items()):
        if lower.endswith((".csv", ".parquet")) and lower not in known:
            stem = lower.rsplit(".", 1)[0]
            meant = table_meant(stem)
            if meant is not None:
                # Named like a table: never ignored while the cohort is called valid (issue 16).
                extension = lower.rsplit(".", 1)[1]
                message = (
                    f"{file.name} is not read: the {meant} table must be named "
                    f"'{meant}.{extension}'; rename it"
                )
                cohort.problems.append(Problem(meant, None, None, message))
            else:
                cohort.problems.append(
                    Problem(
                        stem,
                        None,
                        None,
                        f"{file.name} is not a cohort table and is ignored",
                        "warning",
                    )
                )
    if "cohort.toml" in files:
        _read_settings(files["cohort.toml"], cohort)


def _read_csv(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    data = _without_bom(path.read_bytes())
    if not data or data.isspace():
        return None, [Problem(name, None, None, f"{path.name} is empty (not even a header row)")]
    native = _native_csv(path, data, name)
    if native is not None:
        return native, []
    return _read_csv_text(data, name, path.name)


def _without_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def _native_csv(path: Path, data: bytes, name: str) -> RawTable | None:
    """The table as DuckDB's parallel CSV reader will load it (``RawTable.scan``), when the
    header is plain (comma-separated, every column named once); else None.

    Whether the file is regular (one record per line, no blank line, every row as wide as the
    header) is known only once it is read: then the reader yields one record per line after the
    header (``rows``), and the row of record i is i + 2. Otherwise the load falls back to
    ``_read_csv_text``, which reads it record by record and reports what it finds.
    """
    end = data.find(b"\n")
    try:
        header_line = (data if end < 0 else data[:end]).rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "," not in header_line:
        return None
    names = _plain_header(header_line)
    if names is None:
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    columns = ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names)
    scan = (
        f"read_csv({sql_literal(str(path))}, auto_detect = false, header = true, delim = ',', "
        f"quote = '\"', escape = '\"', strict_mode = true, columns = {{{columns}}})"
    )

    def fallback() -> tuple[RawTable | None, list[Problem]]:
        return _read_csv_text(_without_bom(path.read_bytes()), name, path.name)

    def chunks() -> Iterator[pa.Table]:
        table, _ = fallback()
        if table is None:
            return iter([text_table(names, [[] for _ in names], [])])
        return table.chunks()

    return RawTable(name, path.name, names, lines - 1, chunks, scan, fallback)


def _plain_header(header_line: str) -> list[str] | None:
    """The columns a CSV header line names (``column_name`` of each cell) when a fast reader
    can take the file as it is: every column named, once, and none named ``_row`` (the row
    numbers' own column); else None, and the careful reader reports what is wrong."""
    names = [column_name(h) for h in next(csv.reader([header_line]), [])]
    if not names or len(set(names)) != len(names) or "" in names or ROW_COLUMN in names:
        return None
    return names


def _read_csv_text(data: bytes, name: str, source: str) -> tuple[RawTable | None, list[Problem]]:
    """The CSV file's bytes (``data``, without a byte-order mark) read in Python: its encoding
    and separator checked, then Arrow's reader when the file is regular, else record by record
    with every irregularity reported."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        message = (
            f"{source} is not UTF-8 (byte 0x{byte:02X} on line {line}); save it as "
            "'CSV UTF-8' (in Excel: Save As > CSV UTF-8)"
        )
        return None, [Problem(name, line, None, message)]
    header_line = text.splitlines()[0] if text else ""
    if "," not in header_line:
        for separator, said in _OTHER_SEPARATORS.items():
            if separator in header_line:
                message = f"the file uses {said} as separator; srnskit expects ','"
                return None, [Problem(name, None, None, message)]
    fast = _read_regular_csv(data, text, name, source)
    if fast is not None:
        return fast, []
    first_rows = list(itertools.islice(csv.reader(io.StringIO(text, newline="")), 12))
    below = header_row_below(name, first_rows)
    if below is not None:
        above = "row" if below == 1 else "rows"
        message = (
            f"the header is on row {below + 1}: remove the {above} above it (a title or "
            "notes above the column names)"
        )
        return None, [Problem(name, below + 1, None, message)]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    width = len(header)
    # A row is a record, as a spreadsheet shows it (cohort-format.md §1): a quoted cell's line
    # breaks do not start a row, and a blank line is a row of its own.
    for line, record in enumerate(reader, start=2):
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
    table, header_problems = to_raw_table(name, source, header, columns, rows)
    return table, header_problems + problems


def _read_regular_csv(data: bytes, text: str, name: str, source: str) -> RawTable | None:
    """The table read by Arrow's C++ reader when the file is regular, else None.

    Regular: one record per line, no blank line, every row as wide as the header. Then a
    record's row number is its index + 2 and nothing needs the careful reader below, which
    handles (and reports) everything else line by line.
    """
    names = _plain_header(text.split("\n", 1)[0].rstrip("\r"))
    if names is None:
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


def _read_settings(path: Path, cohort: RawCohort) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        cohort.problems.append(Problem("cohort.toml", None, None, f"not valid TOML: {exc}"))
        return
    read_settings(text, cohort)


def read_settings(text: str, cohort: RawCohort) -> None:
    """The settings of a cohort's ``cohort.toml`` (its ``text``: ``name``, ``center_id``,
    ``format_version``; cohort-format.md §1) set on ``cohort``; what is wrong with them added
    to ``cohort.problems`` (invalid TOML, a setting that is not text, a format version this
    srnskit does not read: errors; an unknown setting: a warning)."""
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        cohort.problems.append(Problem("cohort.toml", None, None, f"not valid TOML: {exc}"))
        return
    for key in sorted(set(settings) - _SETTINGS_KEYS):
        cohort.problems.append(
            Problem("cohort.toml", None, key, f"unknown setting '{key}' is ignored", "warning")
        )
    version = settings.get("format_version", FORMAT_VERSION)
    if version not in FORMAT_VERSIONS_READ or isinstance(version, bool):
        read = " and ".join(str(v) for v in FORMAT_VERSIONS_READ)
        cohort.problems.append(
            Problem(
                "cohort.toml",
                None,
                "format_version",
                f"format_version {version!r} is not supported; this srnskit reads versions {read}",
            )
        )
    for key in ("name", "center_id"):
        if key in settings and not isinstance(settings[key], str):
            cohort.problems.append(Problem("cohort.toml", None, key, f"'{key}' must be text"))
    name, center = settings.get("name"), settings.get("center_id")
    cohort.name = name if isinstance(name, str) else None
    cohort.center_id = center if isinstance(center, str) else None
