"""The derived tables as expressions, and ``Derived``, the one type the engine hands on.

``derive_expressions`` builds the three derived tables (cohort-format.md §3) as Ibis
expressions on any backend, under a definition set (how each day is classified) and a study
(eligibility, standard dose, kidney function, the window at diagnosis); asked for the analysis,
also the tables the analysis reads (``schema/derived.py`` ANALYSIS_TABLES). ``Derived`` holds
their results (Arrow) and the inclusion flow; ``DerivedOnEngine`` keeps the derived tables on an
engine that writes them itself (Spark) and holds only the flow, warnings and row counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Backend, Tables, materialise
from srnskit.engine.coverage import COVERAGE, coverage, data_warnings
from srnskit.engine.rules import analysis_tables
from srnskit.engine.rules.comparison import compared_courses
from srnskit.engine.rules.courses import course_responses, courses
from srnskit.engine.rules.eligibility import eligibility
from srnskit.engine.rules.episodes import classify_days, episodes
from srnskit.engine.rules.exposure import exposure_intervals
from srnskit.engine.rules.followup import last_followup
from srnskit.engine.rules.kidney import (
    creatinine_days,
    egfr_ages,
    egfr_series,
    kidney_outcomes,
)
from srnskit.engine.rules.kinds import interpret
from srnskit.engine.rules.outcomes import (
    cni_response,
    first_remission,
    multidrug_resistance,
    steroid_response,
)
from srnskit.engine.rules.proteinuria import proteinuria_days
from srnskit.schema import (
    ANALYSIS_TABLES,
    COMPARED_COURSES,
    DERIVED_TABLES,
    EXCLUSION_STEPS,
    DerivedColumn,
)
from srnskit.studies import StudyDesign, load_study
from srnskit.writer import ARROW_TYPES, derived_schema

__all__ = [
    "Derived",
    "DerivedOnEngine",
    "analysis_schema",
    "declared",
    "derive_expressions",
    "derived_from",
    "flow",
    "flow_from_counts",
]


@dataclass
class Derived:
    """The derived tables as Arrow, and the inclusion flow; ``analysis``: the tables the analysis
    reads (``ANALYSIS_TABLES``, each in its declared schema), when asked for (else None)."""

    patient_outcomes: pa.Table
    courses: pa.Table
    episodes: pa.Table
    flow: dict[str, Any]
    # The study's two compared groups, one course per patient and group (COMPARED_COURSES)
    compared_courses: pa.Table
    analysis: dict[str, pa.Table] | None = None
    cohort_name: str = ""
    # Plain sentences about what the data cannot support (``engine/coverage.py``): no value of
    # the set's proteinuria streams, creatinine without a height; counts, never patient ids.
    warnings: tuple[str, ...] = ()

    def rows(self) -> dict[str, int]:
        """Each derived table's row count, by name (as ``DerivedOnEngine.rows``)."""
        return {name: table.num_rows for name, table in self.tables().items()}

    def tables(self) -> dict[str, pa.Table]:
        """The derived tables (``DERIVED_TABLES``), by name."""
        return {
            "patient_outcomes": self.patient_outcomes,
            "courses": self.courses,
            "episodes": self.episodes,
        }


@dataclass
class DerivedOnEngine:
    """The derived tables kept where the engine computed them (Spark's executors), to be
    written there (``write_parquet``); what came back to the driver: the inclusion flow, the
    data warnings and each table's row count (``rows``). ``tables``: each derived table
    (``DERIVED_TABLES``) as an Ibis table on ``backend``, computed once."""

    backend: Backend
    tables: dict[str, ibis.Table]
    flow: dict[str, Any]
    row_counts: dict[str, int]
    cohort_name: str = ""
    warnings: tuple[str, ...] = ()

    def rows(self) -> dict[str, int]:
        """Each derived table's row count, by name."""
        return dict(self.row_counts)

    def write_parquet(self, name: str, folder: Path | str) -> None:
        """Write the derived table ``name`` as a folder of Parquet part files at ``folder`` (a
        local path, or a URI: ``Backend.output_folder``),
        from the engine's executors, with the one writer's columns, types and rounding
        (``derived_schema``). Raises what ``Backend.write_parquet`` raises."""
        self.backend.write_parquet(self.tables[name], folder, derived_schema(name))


def derive_expressions(
    tables: Tables,
    definitions: DefinitionSet,
    study: StudyDesign | None = None,
    *,
    analysis: bool = False,
) -> dict[str, ibis.Table]:
    """The three derived tables (and the per-patient first failed step) as Ibis expressions,
    under ``definitions`` and ``study`` (None: the shipped ``seed2023``); with ``analysis``, also
    one expression per table of ``ANALYSIS_TABLES``, under the same names.

    Intermediate tables that several outputs read are materialised once on the backend
    (``materialise``), so no step is computed twice. Raises ``DefinitionError`` for a rule of a
    kind the engine has no function for (``rules/kinds.py``).
    """
    study = load_study("seed2023") if study is None else study
    height_within_days = study.kidney.height_within_days
    followup = materialise(tables, last_followup(tables))
    days = proteinuria_days(tables, definitions, height_within_days=height_within_days)
    events = classify_days(tables, days, definitions)
    episode = materialise(tables, episodes(tables.patients, events, days, followup, definitions))
    course = materialise(
        tables, course_responses(courses(tables.treatments, followup, definitions), episode, days)
    )
    steroid = materialise(
        tables, steroid_response(tables, episode, days, followup, definitions, study)
    )
    eligible = materialise(
        tables, eligibility(tables, steroid, course, followup, study.eligibility)
    )
    # read by the native summary, the graft's stage and (asked) as a table of its own
    series = materialise(tables, egfr_series(tables, study.kidney))
    onset = tables.patients.select("patient_id", "onset_date")
    native = series.filter(series.native)
    egfr = interpret(study.kidney)(native.join(onset, "patient_id"), study.kidney)
    outcome = tables.patients.select("patient_id")
    for part in (
        eligible,
        steroid,
        cni_response(tables, episode, days, course, definitions),
        multidrug_resistance(tables, episode, followup, definitions),
        first_remission(tables, episode),
        kidney_outcomes(tables, egfr, series),
    ):
        outcome = outcome.left_join(part, "patient_id").drop("patient_id_right")
    columns = [c.name for c in DERIVED_TABLES["patient_outcomes"]]
    named = tables.named
    compared = compared_courses(course, eligible, study)
    out = {
        "coverage": coverage(tables, series, study.at_diagnosis),
        "compared_courses": named(compared).order_by(["patient_id", "group"]),
        "patient_outcomes": named(outcome.select(*columns, "first_failed")).order_by("patient_id"),
        "courses": named(course.select(*[c.name for c in DERIVED_TABLES["courses"]])).order_by(
            ["patient_id", "course_no"]
        ),
        "episodes": named(episode.select(*[c.name for c in DERIVED_TABLES["episodes"]])).order_by(
            ["patient_id", "start_date"]
        ),
    }
    if not analysis:
        return out
    intervals = materialise(tables, exposure_intervals(tables.treatments, followup, definitions))
    extra = {
        "patients": tables.patients.select(*_names("patients")),
        "exposures": analysis_tables.exposures(
            tables, intervals, height_within_days=height_within_days
        ),
        "relapses": analysis_tables.relapses(episode),
        "initial_steroid_course": analysis_tables.initial_steroid_course(steroid),
        "troughs": analysis_tables.troughs(tables, intervals),
        "presentation": analysis_tables.presentation(tables, study.at_diagnosis),
        "egfr": egfr_ages(tables, series).select(*_names("egfr")),
        "creatinine": creatinine_days(tables, series),
        "adverse_events": analysis_tables.attributed_adverse_events(tables, intervals),
        "proteinuria_dates": analysis_tables.proteinuria_dates(tables),
        "events": tables.events.select(*_names("events")),
    }
    for name, expression in extra.items():
        keys = [k for k in _ORDER[name] if k in expression.columns]
        out[name] = named(expression).order_by(keys)
    return out


# The row order of each analysis table: its leading keys, then every other column (a stable
# order whatever the backend).
_LEADING = {
    "exposures": ["patient_id", "start_date", "drug"],
    "troughs": ["patient_id", "date", "drug"],
    "events": ["patient_id", "date", "event"],
    "adverse_events": ["patient_id", "date", "event", "drug"],
}
_ORDER = {
    name: [
        *_LEADING.get(name, []),
        *[c.name for c in columns if c.name not in _LEADING.get(name, [])],
    ]
    for name, columns in ANALYSIS_TABLES.items()
}


def _names(name: str) -> list[str]:
    return [c.name for c in ANALYSIS_TABLES[name]]


def analysis_schema(name: str) -> pa.Schema:
    """The declared Arrow schema of an analysis table (``exposures``, ``relapses``, …)."""
    return _schema(ANALYSIS_TABLES[name])


def _schema(columns: tuple[DerivedColumn, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in columns])


def declared(table: pa.Table, name: str) -> pa.Table:
    """Cast a backend's result to the declared schema (DuckDB and Spark differ in types), a
    derived table's (``DERIVED_TABLES``) or an analysis table's (``ANALYSIS_TABLES``)."""
    if name == "compared_courses":
        schema = _schema(COMPARED_COURSES)
    elif name == "coverage":
        schema = _schema(COVERAGE)
    elif name in ANALYSIS_TABLES:
        schema = analysis_schema(name)
    else:
        schema = derived_schema(name)
    result = pa.table([table.column(f.name).cast(f.type) for f in schema], schema=schema)
    for column in table.column_names:
        if column not in schema.names:
            result = result.append_column(column, table.column(column))
    return result


def flow(
    outcomes: pa.Table, definitions: DefinitionSet, study: StudyDesign | None = None
) -> dict[str, Any]:
    """The inclusion flow (cohort-format.md §3, flow.json) of the patient outcomes with their
    ``first_failed`` column (``flow_from_counts``)."""
    return flow_from_counts(
        Counter(outcomes.column("first_failed").to_pylist()), definitions, study
    )


def flow_from_counts(
    first_failed: Mapping[str | None, int],
    definitions: DefinitionSet,
    study: StudyDesign | None = None,
) -> dict[str, Any]:
    """The inclusion flow (cohort-format.md §3, flow.json): the definition set and the study it
    was derived under, and the patients left after each step, each counted at its first
    failure. ``first_failed``: how many patients first failed each step (None: included)."""
    remaining = sum(first_failed.values())
    start = remaining
    steps = []
    for step in EXCLUSION_STEPS:
        excluded = first_failed.get(step, 0)
        remaining -= excluded
        steps.append({"step": step, "excluded": excluded, "remaining": remaining})
    named = {"definitions": definitions.name}
    if study is not None:
        named["study"] = study.name
    return {**named, "start": start, "steps": steps}


def derived_from(
    results: dict[str, pa.Table],
    definitions: DefinitionSet,
    *,
    study: StudyDesign | None = None,
    cohort_name: str = "",
) -> Derived:
    """``Derived`` from the results of ``derive_expressions`` (declared), with the flow; the
    analysis tables when the results hold them."""
    outcomes = results["patient_outcomes"]
    analysis = {name: results[name] for name in ANALYSIS_TABLES if name in results}
    design = load_study("seed2023") if study is None else study
    return Derived(
        patient_outcomes=outcomes.drop_columns(["first_failed"]),
        courses=results["courses"],
        episodes=results["episodes"],
        flow=flow(outcomes, definitions, study),
        compared_courses=results["compared_courses"],
        analysis=analysis or None,
        cohort_name=cohort_name,
        warnings=data_warnings(results["coverage"], definitions, design),
    )
