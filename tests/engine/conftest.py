"""Hand-made patients for the engine: a few dated values each, written as a real cohort, and
the ``backend`` every engine test runs on.

As ibis' own suite does, one set of tests runs on every backend: a test asking for ``backend``
(or for ``derive_cohort``, which derives on it) runs once on DuckDB and once on Spark. What a
backend cannot do yet is recorded as data on the test, ``@pytest.mark.notimpl(["spark"],
reason=...)``: the test is then expected to fail there (strictly: it is reported when it
starts to pass).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import Derived, derive
from srnskit.engine.backends import spark_session

TODAY = dt.date(2026, 11, 28)
D = dt.date.fromisoformat


def write_cohort(
    folder: Path,
    patients: Sequence[Sequence[Any]],
    measurements: Sequence[Sequence[Any]] = (),
    treatments: Sequence[Sequence[Any]] = (),
    events: Sequence[Sequence[Any]] = (),
) -> Path:
    """patients: (id, sex, birth, onset[, secondary_cause[, steroid_response_recorded]]);
    measurements: (id, date, analyte, value, unit; a bound written as text, ``"<0.1"``);
    treatments: (id, drug, start, end, dose, dose_unit, schedule);
    events: (id, date, event)."""
    tables = {
        "patients": (
            [
                "patient_id",
                "sex",
                "birth_date",
                "onset_date",
                "secondary_cause",
                "steroid_response_recorded",
            ],
            [list(p) + [""] * (6 - len(p)) for p in patients],
        ),
        "measurements": (["patient_id", "date", "analyte", "value", "unit"], measurements),
        "treatments": (
            ["patient_id", "drug", "start_date", "end_date", "dose", "dose_unit", "schedule"],
            treatments,
        ),
        "events": (["patient_id", "date", "event"], events),
    }
    for name, (header, rows) in tables.items():
        if name != "patients" and not rows:
            continue
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return folder


def upcr(
    patient: str, start: str, values: Sequence[float], every_days: int = 1, unit: str = "mg/mg"
) -> list[tuple[Any, ...]]:
    """UPCR values on consecutive days (or every ``every_days``) from ``start``."""
    first = D(start)
    return [
        (patient, first + dt.timedelta(days=i * every_days), "upcr", v, unit)
        for i, v in enumerate(values)
    ]


# Spark settings for the tests' tiny cohorts (a few rows): one task per shuffle instead of four,
# and no re-planning of each stage, roughly halve a hand-made derive on local Spark.
SMALL_DATA = {"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false"}


@pytest.fixture(scope="session")
def spark() -> Any:
    """The process's Spark session (start ≈ 3.5 s, so one for every test), set for tiny data."""
    session = spark_session()
    for key, value in SMALL_DATA.items():
        session.conf.set(key, value)
    return session


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend's name (``derive(..., engine=backend)``); a test marked ``notimpl`` for it
    is expected to fail on it."""
    name: str = request.param
    for marker in request.node.iter_markers("notimpl"):
        if name in marker.args[0]:
            request.applymarker(
                pytest.mark.xfail(
                    reason=f"{name}: {marker.kwargs['reason']}",
                    raises=marker.kwargs.get("raises", Exception),
                    strict=True,
                )
            )
    if name == "spark":
        request.getfixturevalue("spark")
    return name


@pytest.fixture
def derive_cohort(tmp_path: Path, backend: str) -> Callable[..., Derived]:
    """Derive a cohort written from hand-made rows (``write_cohort``) on ``backend``."""
    counter = iter(range(1000))

    def run(definitions: str = "kdigo2021", *, analysis: bool = False, **tables: Any) -> Derived:
        folder = tmp_path / f"cohort{next(counter)}"
        folder.mkdir()
        write_cohort(folder, **tables)
        with read_cohort(folder, today=TODAY) as cohort:
            rules = load_definitions(definitions)
            return derive(cohort, rules, engine=backend, analysis=analysis)

    return run


def episodes_of(derived: Derived, patient: str = "P1") -> list[tuple[str, dt.date, str]]:
    """(state, start_date, rule) of one patient's episodes, in order."""
    return [
        (e["state"], e["start_date"], e["rule"])
        for e in derived.episodes.to_pylist()
        if e["patient_id"] == patient
    ]


def outcome_of(derived: Derived, patient: str = "P1") -> dict[str, Any]:
    return next(o for o in derived.patient_outcomes.to_pylist() if o["patient_id"] == patient)
