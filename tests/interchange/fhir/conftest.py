"""Shared fixtures of the FHIR interchange tests: the demo's derived results under every shipped
definition set, and the demo exported once as a Bundle and once as Bulk Data NDJSON (each takes
seconds, so once per session)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.cohort.load import read_cohort
from srnskit.engine import Derived
from srnskit.examples import path as example_path
from srnskit.outputs.exports.fhir import cohort_resources, write_resources
from tests.interchange.conftest import derived_under_every_set

TODAY = dt.date(2026, 12, 1)
SETS = ("seed2023", "kdigo2021", "ipna2020")
HOSPITAL = Path(__file__).parents[2] / "data" / "interchange" / "fhir" / "hospital_bundle.json"


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
