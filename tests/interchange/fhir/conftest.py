"""Shared fixtures of the FHIR interchange tests: the demo's derived results under every shipped
definition set, and the demo exported once as a Bundle and once as Bulk Data NDJSON (each takes
seconds, so once per session)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.cohort.load import read_cohort
from srnskit.definitions.model import load_definitions
from srnskit.engine import Derived, derive_many
from srnskit.examples import path as example_path
from srnskit.outputs.exports.fhir import cohort_resources, write_resources

TODAY = dt.date(2026, 12, 1)
SETS = ("seed2023", "kdigo2021", "ipna2020")
HOSPITAL = Path(__file__).parents[2] / "data" / "interchange" / "fhir" / "hospital_bundle.json"


def derived_under_every_set(cohort: Path) -> dict[str, Derived]:
    """derive's results of the cohort at ``cohort`` under seed2023, kdigo2021 and ipna2020."""
    with read_cohort(cohort, today=TODAY) as loaded:
        results = derive_many(loaded, [load_definitions(name) for name in SETS])
    return dict(zip(SETS, results, strict=True))


@pytest.fixture(scope="session")
def demo_derived() -> dict[str, Derived]:
    return derived_under_every_set(example_path("demo"))


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo as ``bundle`` (a folder with bundle.json) and as ``ndjson`` (a folder)."""
    root = tmp_path_factory.mktemp("fhir-export")
    with read_cohort(example_path("demo"), today=TODAY) as cohort:
        resources = cohort_resources(cohort)
    write_resources(resources, root / "bundle")
    write_resources(resources, root / "ndjson", ndjson=True)
    return {"bundle": root / "bundle" / "bundle.json", "ndjson": root / "ndjson"}
