"""``study()`` on valid but degenerate cohorts (issue 15 item 1): it never raises, every test
either ran or says why not, and every section states its n and what it left out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from srnskit.analysis.study import Study, study
from srnskit.definitions import load_definitions
from srnskit.protocols import load_protocol
from srnskit.studies import load_study
from tests.analysis.handmade import Child, HandDerived, cohort

COMBO = "cyclosporine+mmf"
ONSET = dt.date(2015, 1, 1)
SECTIONS = {
    "table1",
    "table2",
    "km",
    "cumulative_incidence",
    "toxicity",
    "kidney",
    "adherence",
    "cyclosporine",
    "second_agent",
}


def run(derived: HandDerived) -> Study:
    return study(
        derived, load_definitions("kdigo2021"), load_study("seed2023"), load_protocol("sfnp")
    )


def _egfr(pid: str, *values: float, native: bool = True) -> list[tuple[object, ...]]:
    """One eGFR a year from onset per value (creatinine 50 µmol/L, height 130 cm)."""
    return [
        (pid, ONSET + dt.timedelta(365 * i), 50.0, 130.0, v, native, True)
        for i, v in enumerate(values)
    ]


def full(pid: str, **kw: object) -> Child:
    """An included child with a cyclosporine-only course, then a combined one, values at
    diagnosis and two native eGFRs."""
    child = Child(pid, **kw)  # type: ignore[arg-type]
    child.course("cyclosporine", 30, 150, "none", None, "comparison")
    child.course(COMBO, 200, 300, "complete", 60, "combined")
    child.presentation += [(pid, "upcr", 5.0, "mg/mg"), (pid, "albumin", 18.0, "g/L")]
    child.presentation += [(pid, "uprot_24h", 3.0, "g/24h"), (pid, "creatinine", 40.0, "µmol/L")]
    child.egfr += _egfr(pid, 110.0, 90.0)
    child.outcome.update(egfr_first=110.0, egfr_last=90.0, ckd_stage_last="G1")
    return child


def no_one() -> HandDerived:
    return cohort([])


def none_included() -> HandDerived:
    return cohort(
        [
            Child("X1", eligible=False, reasons="not_steroid_resistant", resistance=None),
            Child("X2", eligible=False, reasons="no_combination").course(
                "cyclosporine", 10, 120, "complete", 40, "comparison"
            ),
        ]
    )


def one_child() -> HandDerived:
    return cohort([full("A")])


def empty_comparison_group() -> HandDerived:
    children = [Child(p).course(COMBO, 50, 300, "partial", 45, "combined") for p in ("A", "B")]
    return cohort(children)


def no_courses() -> HandDerived:
    return cohort([Child("A"), Child("B")])


def no_24_hour_protein() -> HandDerived:
    children = [full("A"), full("B", sex="M")]
    for c in children:
        c.presentation = [row for row in c.presentation if row[1] != "uprot_24h"]
    warning = "this cohort has no 24-hour proteinuria: seed2023 cannot classify steroid response"
    return cohort(children, warnings=[warning])


def no_creatinine() -> HandDerived:
    children = [full("A"), full("B")]
    for c in children:
        c.egfr = []
        c.presentation = [row for row in c.presentation if row[1] != "creatinine"]
        c.outcome.update(egfr_first=None, egfr_last=None, ckd_stage_last=None)
    return cohort(children)


def no_height() -> HandDerived:
    # creatinine everywhere but no height: no eGFR, no BSA (the exposures carry none already)
    children = [full("A"), full("B")]
    for c in children:
        c.egfr = []
        c.outcome.update(egfr_first=None, egfr_last=None, ckd_stage_last=None)
    warning = "2 children have creatinine but no height within 90 days of it: no eGFR computed"
    return cohort(children, warnings=[warning])


def all_in_kidney_failure() -> HandDerived:
    children = []
    for pid in ("A", "B", "C"):
        c = Child(pid)
        c.course(COMBO, 100, 300, "none", None, "combined")
        c.outcome.update(
            kidney_failure_date=ONSET + dt.timedelta(200),
            krt="dialysis",
            krt_date=ONSET + dt.timedelta(200),
            ckd_stage_last="G5D",
            egfr_first=60.0 if pid != "C" else None,
            egfr_last=12.0 if pid != "C" else None,
        )
        c.egfr += _egfr(pid, 60.0) if pid != "C" else []
        c.egfr += [(pid, ONSET + dt.timedelta(400), 600.0, 130.0, 9.0, False, True)]  # dialysis
        c.event(200, "dialysis_start")
        children.append(c)
    return cohort(children)


def several_centres() -> HandDerived:
    return cohort([full("A", center="c1"), full("B", center="c2"), full("C", center="c3")])


KINDS: dict[str, Callable[[], HandDerived]] = {
    "no patient at all": no_one,
    "no child included": none_included,
    "one child": one_child,
    "an empty comparison group": empty_comparison_group,
    "no courses": no_courses,
    "no 24-hour protein": no_24_hour_protein,
    "no creatinine": no_creatinine,
    "no height": no_height,
    "every child in kidney failure": all_in_kidney_failure,
    "several centres": several_centres,
}


@pytest.mark.parametrize("kind", KINDS)
def test_study_never_raises_and_every_section_says_its_n(kind: str) -> None:
    s = run(KINDS[kind]())
    assert set(s.notes) >= SECTIONS, SECTIONS - set(s.notes)
    assert all(note.strip() for note in s.notes.values())
    for key, line in s.tests.items():
        assert line.ran or line.reason, key  # a p, or why not
        assert line.p_value is None or 0 <= line.p_value <= 1
    assert s.table1_n == s.headline["included"]
    assert s.notes["table1"].startswith(f"{s.table1_n} child")
    assert set(s.cumulative_incidence.columns) >= {"group", "time_months", "state", "estimate"}
    assert s.km_test in s.tests


def test_no_child_included() -> None:
    s = run(none_included())
    assert s.table1_n == 0
    assert "No child met the inclusion criteria" in s.data_warnings[0]
    assert s.notes["toxicity"] == "No child was included: no toxicity to count."
    assert "The combined group has no course" in " ".join(s.data_warnings)
    # the comparison group still has X2's course; the groups cannot be compared
    assert s.table2.set_index("group").loc["cyclosporine alone", "courses"] == 1
    assert not s.tests["logrank"].ran
    assert "fewer than two groups" in s.tests["logrank"].reason
    tox = s.toxicity.iloc[0]
    assert (tox.patients, tox.exposed) == (0, 0)  # no Wilson interval with nobody exposed


def test_one_child() -> None:
    s = run(one_child())
    assert s.notes["table1"].startswith("1 child included (N = 1)")
    # one child in both groups: shared, so the figure shows the Cox model's p, which says why not
    assert s.km_test == "cox_cluster"
    assert not s.tests["cox_cluster"].ran
    assert s.tests["cox_cluster"].reason
    assert "1 of 1 child included received cyclosporine" in s.notes["cyclosporine"]


def test_an_empty_comparison_group() -> None:
    s = run(empty_comparison_group())
    assert "The cyclosporine alone group has no course" in " ".join(s.data_warnings)
    assert "cyclosporine alone: 0 courses" in s.notes["table2"]
    assert not s.tests["response"].ran
    assert s.tests["response"].contrast == "combined minus cyclosporine alone"
    assert s.km_test == "logrank"


def test_no_courses() -> None:
    s = run(no_courses())
    assert s.cumulative_incidence.empty
    assert s.km.empty
    assert "combined: 0 courses" in s.notes["cumulative_incidence"]
    assert s.notes["adherence"] == "No course of a drug the protocol doses per m²."
    assert s.second_agent.n == 0


def test_no_24_hour_protein_is_said() -> None:
    s = run(no_24_hour_protein())
    assert s.data_warnings[0].startswith("this cohort has no 24-hour proteinuria")
    row = s.table1.set_index("characteristic").loc["24-hour proteinuria at diagnosis"]
    assert row.summary.n == 0
    assert "24-hour proteinuria at diagnosis 2" in s.notes["table1"]  # 2 missing of 2


@pytest.mark.parametrize("kind", ["no creatinine", "no height"])
def test_without_egfr_the_kidney_comparison_says_who_was_left_out(kind: str) -> None:
    s = run(KINDS[kind]())
    assert not s.tests["egfr_first_last"].ran
    assert "fewer than two pairs" in s.tests["egfr_first_last"].reason
    assert "0 children of 2 included; 2 children left out" in s.notes["kidney"]
    assert any("2 children left out of the first-versus-last eGFR" in w for w in s.data_warnings)
    assert s.egfr_trajectories.empty


def test_every_child_in_kidney_failure() -> None:
    s = run(all_in_kidney_failure())
    # each course (day 100 to 399) meets kidney failure on day 200 = course day 100
    states = s.cumulative_incidence.groupby("state").estimate.last()
    assert states["kidney_failure"] == 1.0
    assert states["remission"] == 0.0
    assert (s.kidney["krt"], s.kidney["krt_dialysis"]) == (3, 3)
    # the eGFR of 9 on dialysis is not native: trajectories keep the native 60s only
    assert list(s.egfr_trajectories.egfr) == [60.0, 60.0]
    assert "2 children of 3 included; 1 child left out" in s.notes["kidney"]
    assert (
        "2 children with kidney replacement therapy kept their native values" in (s.notes["kidney"])
    )


def test_several_centres_pool_their_children() -> None:
    s = run(several_centres())
    assert s.table1_n == 3
    t = s.tests["egfr_first_last"]
    # 110 → 90 for each: every difference −20, no variation: the t-test says so
    assert not t.ran
    assert "no variation" in t.reason
