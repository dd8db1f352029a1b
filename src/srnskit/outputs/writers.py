"""Writers: derived results to files, all or nothing (cohort-format.md §3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from srnskit.atomic import atomic_directory
from srnskit.engine import Derived
from srnskit.writer import TableWriter, derived_schema

__all__ = ["write_derived"]


def write_derived(
    derived: Derived, out: Path, *, fmt: Literal["csv", "parquet"] = "csv", force: bool = False
) -> None:
    """Write the derived tables and flow.json into ``out``, all or nothing."""
    with atomic_directory(out, force=force) as folder:
        for name, table in derived.tables().items():
            with TableWriter(folder, name, derived_schema(name), fmt) as writer:
                writer.write(table)
        (folder / "flow.json").write_text(
            json.dumps(derived.flow, indent=2) + "\n", encoding="utf-8"
        )
