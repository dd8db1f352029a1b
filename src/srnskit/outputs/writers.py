"""Writers: derived results to files, all or nothing (cohort-format.md §3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from srnskit.atomic import atomic_directory
from srnskit.engine import Derived, DerivedOnEngine
from srnskit.schema import DERIVED_TABLES
from srnskit.writer import TableWriter, derived_schema

__all__ = ["write_derived"]


def write_derived(
    derived: Derived | DerivedOnEngine,
    out: Path | str,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    force: bool = False,
) -> None:
    """Write the derived tables and flow.json into ``out``, all or nothing: everything goes to
    a temporary folder beside ``out``, renamed to ``out`` once all is written.

    ``Derived`` (tables in memory): one file per table, ``NAME.csv`` or ``NAME.parquet``, by
    the one table writer. ``DerivedOnEngine`` (tables kept on Spark's executors, Parquet
    only): each ``NAME.parquet`` a folder of part files written by the executors; only
    flow.json is written here. ``out`` a URI (``hdfs://…``, ``s3a://…``, ``file://…``, as a
    ``str``): tables kept on the engine only, written through the engine's file system
    (``Backend.output_folder``), all or nothing as a local folder is. Raises ``UsageError``
    when ``out`` cannot be written (or is not empty without ``force``), ``ValueError`` for
    CSV of tables kept on an engine, or a URI for tables in memory.
    """
    if isinstance(derived, DerivedOnEngine) and fmt != "parquet":
        raise ValueError("tables kept on the engine are written by it as Parquet only")
    flow = json.dumps(derived.flow, indent=2) + "\n"
    if isinstance(out, str):
        if not isinstance(derived, DerivedOnEngine):
            raise ValueError("only tables kept on the engine are written at a URI")
        with derived.backend.output_folder(out, force=force) as uri:
            for name in DERIVED_TABLES:
                derived.write_parquet(name, f"{uri}/{name}.parquet")
            derived.backend.write_text(f"{uri}/flow.json", flow)
        return
    with atomic_directory(out, force=force) as folder:
        if isinstance(derived, DerivedOnEngine):
            for name in DERIVED_TABLES:
                derived.write_parquet(name, folder / f"{name}.parquet")
        else:
            for name, table in derived.tables().items():
                with TableWriter(folder, name, derived_schema(name), fmt) as writer:
                    writer.write(table)
        (folder / "flow.json").write_text(flow, encoding="utf-8")
