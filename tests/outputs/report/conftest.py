from __future__ import annotations

import datetime as dt

import pytest

from srnskit.definitions import load_definitions
from srnskit.outputs.report.build import Report, build_report, load_for_report

TODAY = dt.date(2026, 11, 28)


@pytest.fixture(scope="session")
def demo_report() -> Report:
    cohort, demo = load_for_report(None, TODAY)
    assert demo
    return build_report(cohort, load_definitions("kdigo2021"), today=TODAY, compare_seed=True)
