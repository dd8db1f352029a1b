"""Deriving hand-made cohorts with the analysis tables, under a chosen study file."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import Derived, derive
from srnskit.studies import StudyDesign, load_study
from tests.engine.conftest import TODAY, write_cohort

D = dt.date.fromisoformat
SHIPPED_STUDY = Path(__file__).parents[3] / "src" / "srnskit" / "studies" / "seed2023.toml"


def study_with(folder: Path, section: str, **changes: Any) -> StudyDesign:
    """The shipped seed2023 study with ``changes`` to one ``section``, loaded from a file."""
    text = SHIPPED_STUDY.read_text()
    lines = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            if current == section:
                lines += [f"{k} = {_toml(v)}" for k, v in changes.items()]
            current = stripped.strip("[]")
        key = stripped.split("=")[0].strip() if "=" in stripped else None
        if current == section and key in changes:
            continue
        lines.append(line)
    if current == section:
        lines += [f"{k} = {_toml(v)}" for k, v in changes.items()]
    path = folder / f"study-{section}.toml"
    path.write_text("\n".join(lines) + "\n")
    return load_study(path)


def _toml(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def derive_analysis(
    folder: Path,
    *,
    definitions: str = "kdigo2021",
    study: StudyDesign | None = None,
    adverse_events: Sequence[Sequence[Any]] = (),
    **tables: Any,
) -> Derived:
    """Derive a cohort written from ``tables`` (see ``write_cohort``) and ``adverse_events``
    (patient_id, date, event, drug, grade) with the analysis tables."""
    folder.mkdir(parents=True, exist_ok=True)
    write_cohort(folder, **tables)
    if adverse_events:
        with (folder / "adverse_events.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["patient_id", "date", "event", "drug", "grade"])
            writer.writerows(adverse_events)
    return derive(
        read_cohort(folder, today=TODAY), load_definitions(definitions), study=study, analysis=True
    )


def rows(derived: Derived, name: str, *columns: str) -> list[tuple[Any, ...]]:
    """The rows of analysis table ``name`` as tuples of ``columns``, in the table's order."""
    assert derived.analysis is not None
    return [tuple(r[c] for c in columns) for r in derived.analysis[name].to_pylist()]
