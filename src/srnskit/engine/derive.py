"""Derive: a cohort's outcomes under a definition set (cohort-format.md §3) on a backend.

Opens the chosen backend (``engine.backends``), runs the expressions of ``engine.derived`` on it
and hands on ``Derived``; writing is an output's job (``outputs.writers``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from functools import partial

import ibis

from srnskit.cohort.load import Cohort
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Backend, Engine, Tables, open_backend
from srnskit.engine.coverage import data_warnings
from srnskit.engine.derived import (
    Derived,
    DerivedOnEngine,
    declared,
    derive_expressions,
    derived_from,
    flow_from_counts,
)
from srnskit.schema import DERIVED_TABLES
from srnskit.studies import StudyDesign, load_study

__all__ = ["build_key", "derive", "derive_kept", "derive_many", "derive_on"]


def derive(
    cohort: Cohort,
    definitions: DefinitionSet,
    *,
    engine: Engine = "duckdb",
    patient_id: str | None = None,
    spark_master: str | None = None,
    study: StudyDesign | None = None,
    analysis: bool = False,
) -> Derived:
    """Compute the derived tables of ``cohort`` (or of one patient) under ``definitions`` and
    ``study`` (None: the shipped ``seed2023``); with ``analysis``, also ``Derived.analysis``.

    ``engine``: the backend's name (``duckdb`` or ``spark``; ``spark_master`` its master URL).
    Raises ``MissingComponentError`` when Spark is asked for and PySpark or Java is missing.
    """
    with open_backend(engine, cohort, spark_master=spark_master) as backend:
        return derive_on(
            backend,
            definitions,
            study=study,
            analysis=analysis,
            patient_id=patient_id,
            cohort_name=cohort.name,
        )


def derive_many(
    cohort: Cohort,
    definition_sets: list[DefinitionSet],
    study: StudyDesign | None = None,
    *,
    analysis: bool | Collection[str] = False,
    engine: Engine = "duckdb",
    spark_master: str | None = None,
) -> list[Derived]:
    """``derive`` under several sets on one backend; the steps they share are computed once
    (on DuckDB: the step tables are kept until the last set is derived).

    ``analysis``: True for every set's analysis tables, or the names of the sets that need them
    (the report's chosen set, not the sets of its sensitivity table).
    """
    study = load_study("seed2023") if study is None else study
    wanted = {d.name for d in definition_sets} if analysis is True else set(analysis or ())
    with open_backend(engine, cohort, spark_master=spark_master) as backend:
        backend.share_steps = True
        return [
            derive_on(backend, d, study=study, analysis=d.name in wanted, cohort_name=cohort.name)
            for d in definition_sets
        ]


def derive_on(
    backend: Backend,
    definitions: DefinitionSet,
    *,
    study: StudyDesign | None = None,
    analysis: bool = False,
    patient_id: str | None = None,
    cohort_name: str = "",
) -> Derived:
    """``derive`` on a backend already open (say, ``DuckDBBackend.from_arrow`` on in-memory
    tables); ``cohort_name`` names the cohort in ``Derived``."""
    study = load_study("seed2023") if study is None else study
    build = partial(_build, definitions=definitions, study=study, analysis=analysis)
    results = backend.run(build, key=build_key(definitions, study, analysis), patient_id=patient_id)
    declared_results = {name: declared(table, name) for name, table in results.items()}
    return derived_from(declared_results, definitions, study=study, cohort_name=cohort_name)


def derive_kept(
    backend: Backend,
    definitions: DefinitionSet,
    *,
    study: StudyDesign | None = None,
    cohort_name: str = "",
) -> DerivedOnEngine:
    """``derive_on``, the derived tables kept where ``backend`` computes them (each computed
    once, ``Backend.materialise``) for the backend to write itself (``writes_parts``: Spark's
    executors). Only aggregates come back to the driver: each table's row count, the patients
    counted by their first failed step (the flow) and the coverage counts (the data warnings).
    The tables are read from ``backend`` until it closes: write them before."""
    study = load_study("seed2023") if study is None else study
    built = derive_expressions(backend.tables(keyed=True), definitions, study)
    kept = {
        name: backend.ibis.table(backend.materialise(backend.compile(built[name])))
        for name in DERIVED_TABLES
    }
    first = kept["patient_outcomes"]
    failed = backend.to_arrow(first.group_by("first_failed").aggregate(n=first.count()))
    by_step = {row["first_failed"]: row["n"] for row in failed.to_pylist()}
    # the patients are the flow's start; each other table counted by one query
    counts = {"patient_outcomes": sum(by_step.values())} | {
        name: backend.to_arrow(table.aggregate(n=table.count())).column("n")[0].as_py()
        for name, table in kept.items()
        if name != "patient_outcomes"
    }
    coverage = declared(backend.to_arrow(built["coverage"]), "coverage")
    return DerivedOnEngine(
        backend=backend,
        tables=kept,
        flow=flow_from_counts(by_step, definitions, study),
        row_counts=counts,
        cohort_name=cohort_name,
        warnings=data_warnings(coverage, definitions, study),
    )


def _build(
    tables: Tables, *, definitions: DefinitionSet, study: StudyDesign, analysis: bool
) -> Mapping[str, ibis.Table]:
    return derive_expressions(tables, definitions, study, analysis=analysis)


def build_key(definitions: DefinitionSet, study: StudyDesign, analysis: bool) -> str:
    """Every input of ``derive_expressions`` that changes the SQL it compiles to, as text: the
    backend's plan cache key (with the cohort's schema and the code's version, added there)."""
    return json.dumps([definitions.model_dump_json(), study.model_dump_json(), analysis])
