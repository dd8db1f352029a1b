"""The study by centre (the report's per-centre breakdown) on a hand-made two-centre cohort:
each centre's flow and Table 1 worked out by hand, and adding up to the whole cohort's."""

from __future__ import annotations

from typing import Any

import pytest

from srnskit.analysis.study import Study, study
from srnskit.analysis.study.centers import center_flow
from srnskit.analysis.study.inputs import study_data
from srnskit.definitions import load_definitions
from srnskit.protocols import load_protocol
from srnskit.schema import EXCLUSION_STEPS
from tests.analysis.handmade import Child, cohort, two_centres


@pytest.fixture(scope="module")
def result() -> Study:
    from srnskit.studies import load_study

    return study(
        two_centres(), load_definitions("kdigo2021"), load_study("seed2023"), load_protocol("sfnp")
    )


def _excluded(flow: dict[str, Any]) -> dict[str, int]:
    return {s["step"]: s["excluded"] for s in flow["steps"] if s["excluded"]}


def test_each_centres_flow_counts_a_child_at_its_first_failing_step(result: Study) -> None:
    a, b = result.by_center["A"], result.by_center["B"]
    assert list(result.by_center) == ["A", "B"]
    # A: 3 children, a3 out at "congenital" (its second reason not counted again) → 2 left
    assert a.flow["start"] == 3
    assert _excluded(a.flow) == {"congenital": 1}
    assert a.flow["steps"][-1]["remaining"] == 2
    # B: 4 children, b2 out at "not_steroid_resistant" (3 left), b3 at "followup_under_1y" → 2
    assert b.flow["start"] == 4
    assert _excluded(b.flow) == {"not_steroid_resistant": 1, "followup_under_1y": 1}
    remaining = {s["step"]: s["remaining"] for s in b.flow["steps"]}
    assert remaining["secondary"] == 4
    assert remaining["not_steroid_resistant"] == 3
    assert remaining["no_combination"] == 3
    assert remaining["followup_under_1y"] == 2
    assert [s["step"] for s in b.flow["steps"]] == list(EXCLUSION_STEPS)


def test_the_centres_flows_add_up_to_the_cohorts() -> None:
    whole = center_flow(study_data(two_centres()).people)
    # 7 children; congenital 1 (a3), not steroid resistant 1 (b2), follow-up 1 (b3) → 4 left
    assert whole["start"] == 7
    assert _excluded(whole) == {"congenital": 1, "not_steroid_resistant": 1, "followup_under_1y": 1}
    assert whole["steps"][-1]["remaining"] == 4


def _rows(frame: Any) -> dict[str, tuple[Any, ...]]:
    return {
        r.characteristic: (r.n, r.of) if r.kind == "count" else (r.summary.n, r.summary.median)
        for r in frame.itertuples()
    }


def test_each_centres_table1_describes_its_included_children(result: Study) -> None:
    a, b = result.by_center["A"], result.by_center["B"]
    assert (a.table1_n, b.table1_n) == (2, 2)
    ra, rb = _rows(a.table1), _rows(b.table1)
    # A: a1 girl, a2 boy; initial 1 and late 1 of the 2 resistant; both 7.0 years at onset
    assert ra["Girls"] == (1, 2)
    assert ra["Boys"] == (1, 2)
    assert ra["Initial steroid resistance"] == (1, 2)
    assert ra["Late steroid resistance"] == (1, 2)
    assert ra["Age at onset"] == (2, 7.0)
    # B: b1 and b4 girls with initial resistance; ages 7.0 and 9.0 → median 8.0
    assert rb["Girls"] == (2, 2)
    assert rb["Boys"] == (0, 2)
    assert rb["Initial steroid resistance"] == (2, 2)
    assert rb["Late steroid resistance"] == (0, 2)
    assert rb["Age at onset"] == (2, 8.0)
    # the centres' counts add up to the whole Table 1's (N = 4: 3 girls, 1 boy)
    whole = _rows(result.table1)
    assert whole["Girls"] == (3, 4)
    assert whole["Boys"] == (1, 4)


def test_one_centre_has_no_breakdown() -> None:
    from srnskit.studies import load_study

    one = cohort([Child("x1"), Child("x2", sex="M")])
    s = study(one, load_definitions("kdigo2021"), load_study("seed2023"), load_protocol("sfnp"))
    assert s.by_center == {}
