"""Calibration: does a synthetic cohort reproduce the source article's published figures?

Each figure (``figures.py``) is computed from the generator's truth and raw tables the way the
article reports it and compared with the published value (``studies/seed2023_targets.json``)
within a stated tolerance. Tolerances are what a cohort of about 5,000 children can hold to, given
the spread of each figure; test statistics, p-values and absolute counts depend on sample size and
are left to the study report. The views the figures read are built here from the rules' own
homes: a relapse from the definition set's ``relapse_after`` (clinical.md §3), the last follow-up
as the engine dates it (clinical.md §8: the latest date of any kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from srnskit.constants import CREATININE_UMOL_L_PER_MG_DL
from srnskit.definitions import DefinitionSet, load_definitions
from srnskit.studies import seed_targets
from srnskit.synth.figures import FIGURES, Figure
from srnskit.synth.generate import Chunk, generate_chunk
from srnskit.synth.profile import Profile

__all__ = [
    "CALIBRATED_SET",
    "FIGURES",
    "FOLLOWUP_DATES",
    "Figure",
    "FigureResult",
    "calibrate",
    "connect",
    "last_followup_sql",
    "register",
    "relapses_sql",
    "seed_targets",
]

# The definition set whose relapse the article's figures count ("previously achieved complete or
# partial remission" [S]); the generator's truth is calibrated to the article.
CALIBRATED_SET = "seed2023"
# Last follow-up (clinical.md §8), as engine/rules/followup.py dates it: the latest of onset,
# measurements, treatment starts and ends, adverse events and events, each (table, date column).
FOLLOWUP_DATES = (
    ("patients", "onset_date"),
    ("measurements", "date"),
    ("treatments", "start_date"),
    ("treatments", "end_date"),
    ("adverse_events", "date"),
    ("events", "date"),
)


@dataclass(frozen=True)
class FigureResult:
    """A figure's target (× its scale) and the value generated (None: nothing to compute on)."""

    figure: Figure
    target: float
    value: float | None

    @property
    def passed(self) -> bool:
        return self.value is not None and abs(self.value - self.target) <= self.figure.tolerance


def last_followup_sql() -> str:
    """One row per patient: ``patient_id``, ``last`` (date), the latest date of any kind for the
    patient over the cohort tables (``FOLLOWUP_DATES``; a NULL date, e.g. an ongoing treatment's
    end, counts for nothing)."""
    dates = " UNION ALL ".join(
        f"SELECT patient_id, {column} AS day FROM {table}" for table, column in FOLLOWUP_DATES
    )
    return f"SELECT patient_id, max(day) AS last FROM ({dates}) GROUP BY patient_id"


def relapses_sql(definitions: DefinitionSet) -> str:
    """The truth's relapse episodes under ``definitions``: a ``nephrotic`` episode whose
    previous episode is one of the set's ``relapse_after`` states (clinical.md §3); the columns
    of the truth's ``episodes`` table plus ``previous``."""
    after = ", ".join(f"'{state}'" for state in definitions.relapse_after)
    return (
        "SELECT * FROM (SELECT *, lag(state) OVER (PARTITION BY patient_id ORDER BY start_date) "
        f"AS previous FROM episodes) WHERE state = 'nephrotic' AND previous IN ({after})"
    )


# Each patient's cyclosporine: first start and last day on it (an ongoing row to last follow-up).
_CSA = (
    "SELECT t.patient_id, min(t.start_date) AS start, max(coalesce(t.end_date, f.last)) AS stop "
    "FROM treatments t JOIN last_followup f USING (patient_id) WHERE t.drug = 'cyclosporine' "
    "GROUP BY 1"
)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never downloads an extension (offline first)."""
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute("SET enable_progress_bar = false")
    return con


def _target(targets: dict[str, Any], path: str) -> float:
    value: Any = targets
    for part in path.split("."):  # regimen keys ("cyclosporine+mmf") hold no dot
        value = value[part]
    return float(value)


def register(
    con: duckdb.DuckDBPyConnection, chunk: Chunk, definitions: DefinitionSet | None = None
) -> None:
    """Expose a chunk's tables and the views the figures read: ``last_followup``, ``csa``,
    ``relapses`` (under ``definitions``, by default the shipped ``CALIBRATED_SET``) and
    ``measurements_umol`` (creatinine in µmol/L)."""
    definitions = load_definitions(CALIBRATED_SET) if definitions is None else definitions
    for name, table in {**chunk.cohort, **chunk.truth}.items():
        con.register(name, table)
    con.execute(f"CREATE OR REPLACE VIEW last_followup AS {last_followup_sql()}")
    con.execute(f"CREATE OR REPLACE VIEW csa AS {_CSA}")
    con.execute(f"CREATE OR REPLACE VIEW relapses AS {relapses_sql(definitions)}")
    con.execute(
        "CREATE OR REPLACE VIEW measurements_umol AS SELECT patient_id, date, analyte, "
        f"CASE WHEN unit = 'mg/dL' THEN value * {CREATININE_UMOL_L_PER_MG_DL} ELSE value END "
        "AS value FROM measurements"
    )


def calibrate(profile: Profile, *, patients: int, seed: int) -> list[FigureResult]:
    """Generate ``patients`` children and compare every calibrated figure with its target."""
    chunk = generate_chunk(profile, patients, np.random.default_rng(seed), 1)
    con = connect()
    register(con, chunk)
    targets = seed_targets()
    results = []
    for figure in FIGURES:
        row = con.execute(figure.sql).fetchone()
        value = None if row is None or row[0] is None else float(row[0])
        results.append(
            FigureResult(figure, _target(targets, figure.target_path) * figure.scale, value)
        )
    return results
