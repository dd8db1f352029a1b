from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.definitions import load_definitions
from srnskit.outputs.report.build import Report, build_report, load_for_report

TODAY = dt.date(2026, 11, 28)
HERE = Path(__file__).parent
# A pandas or library deprecation raised through srnskit's code is a failure here, not a line
# on a user's stderr (the report once printed pandas FutureWarnings): the module regex matches
# every srnskit module the warning is attributed to.
STRICT = (
    "error::FutureWarning:srnskit",
    "error::DeprecationWarning:srnskit",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The report tests (this folder) turn srnskit's FutureWarning and DeprecationWarning into
    errors."""
    for item in items:
        if HERE in item.path.parents:
            for rule in STRICT:
                item.add_marker(pytest.mark.filterwarnings(rule))


# The section ids every report has, in order ("source", the comparison with the article, only
# with --compare-seed: after "adherence").
SECTIONS = (
    "flow",
    "table1",
    "cyclosporine",
    "second-agent",
    "table2",
    "figure1",
    "cumulative-incidence",
    "toxicity",
    "kidney",
    "adherence",
    "sensitivity",
)


@pytest.fixture(scope="session")
def report_sections() -> tuple[str, ...]:
    """The section ids every report has (``SECTIONS``): the degenerate cohorts' and the demo's
    reports are checked against the one list."""
    return SECTIONS


@pytest.fixture(scope="session")
def demo_report() -> Report:
    cohort, demo = load_for_report(None, TODAY)
    assert demo
    return build_report(cohort, load_definitions("kdigo2021"), today=TODAY, compare_seed=True)
