"""Laboratory values given as a bound (``<0.1``, ``>2000``; cohort-format.md §2) in the engine,
on hand-made children under kdigo2021 (complete remission: UPCR ≤ 0.2 mg/mg on 3 consecutive
proteinuria days; relapse: UPCR ≥ 2 mg/mg on 3). A bound decides a comparison only when the
bound itself does; otherwise the day neither counts toward nor ends a run of that condition
(clinical.md §1), and a computation that needs the number (an eGFR) leaves it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from srnskit.engine.rules.proteinuria import decide
from tests.engine.conftest import D, episodes_of, outcome_of, upcr
from tests.engine.rules.helpers import derive_analysis, rows

CHILD = [("P1", "F", "2012-01-01", "2020-01-01")]


def _bound(patient: str, day: str, text: str, analyte: str = "upcr", unit: str = "mg/mg") -> Any:
    return (patient, D(day), analyte, text, unit)


def test_a_below_the_limit_upcr_is_complete_remission_qualifying(derive_cohort) -> None:
    # <0.1 mg/mg: whatever the value, it is ≤ 0.1 ≤ 0.2, so each day is CR-qualifying and three
    # of them confirm complete remission from the first (Jan 20).
    values = upcr("P1", "2020-01-01", [5, 5, 5]) + [
        _bound("P1", day, "<0.1") for day in ("2020-01-20", "2020-01-21", "2020-01-22")
    ]
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("complete_remission", D("2020-01-20"), "complete_remission"),
    ]
    # The evidence shows the bound as written.
    assert derived.episodes.to_pylist()[1]["evidence"] == (
        "2020-01-20 upcr=<0.1 mg/mg; 2020-01-21 upcr=<0.1 mg/mg; 2020-01-22 upcr=<0.1 mg/mg"
    )


def _in_remission_then(later: list[Any]) -> list[Any]:
    """Nephrotic at onset, complete remission from Jan 20, then ``later``."""
    return upcr("P1", "2020-01-01", [5, 5, 5]) + upcr("P1", "2020-01-20", [0.1, 0.1, 0.1]) + later


def test_an_undecided_bound_neither_counts_toward_nor_ends_a_nephrotic_run(derive_cohort) -> None:
    # <5 mg/mg may be above or below 2: undecided for the relapse. Mar 1 (3), Mar 2 (<5),
    # Mar 3 (3), Mar 4 (3): the run passes over Mar 2 and is Mar 1, 3, 4 — three days, a
    # relapse from Mar 1 (had <5 ended the run, Mar 3–4 would be two days, no relapse).
    later = [
        *upcr("P1", "2020-03-01", [3]),
        _bound("P1", "2020-03-02", "<5"),
        *upcr("P1", "2020-03-03", [3, 3]),
    ]
    derived = derive_cohort(patients=CHILD, measurements=_in_remission_then(later))
    assert episodes_of(derived)[-1] == ("nephrotic", D("2020-03-01"), "nephrotic")
    assert derived.episodes.to_pylist()[-1]["evidence"] == (
        "2020-03-01 upcr=3.0 mg/mg; 2020-03-03 upcr=3.0 mg/mg; 2020-03-04 upcr=3.0 mg/mg"
    )


def test_an_undecided_bound_does_not_count_toward_a_run(derive_cohort) -> None:
    # Mar 1 (3), Mar 2 (<5), Mar 3 (3): two decided nephrotic days only, no relapse.
    later = [
        *upcr("P1", "2020-03-01", [3]),
        _bound("P1", "2020-03-02", "<5"),
        *upcr("P1", "2020-03-03", [3]),
    ]
    derived = derive_cohort(patients=CHILD, measurements=_in_remission_then(later))
    assert episodes_of(derived)[-1] == ("complete_remission", D("2020-01-20"), "complete_remission")


def test_a_bound_that_decides_ends_the_run(derive_cohort) -> None:
    # <1 mg/mg is below 2 whatever it is: not nephrotic, so it ends the run of Mar 1; the run
    # from Mar 3 (3, 3, 3) confirms the relapse from Mar 3. >10 mg/mg is ≥ 2: it counts.
    later = [
        *upcr("P1", "2020-03-01", [3]),
        _bound("P1", "2020-03-02", "<1"),
        *upcr("P1", "2020-03-03", [3, 3]),
        _bound("P1", "2020-03-05", ">10"),
    ]
    derived = derive_cohort(patients=CHILD, measurements=_in_remission_then(later))
    assert episodes_of(derived)[-1] == ("nephrotic", D("2020-03-03"), "nephrotic")
    assert derived.episodes.to_pylist()[-1]["evidence"] == (
        "2020-03-03 upcr=3.0 mg/mg; 2020-03-04 upcr=3.0 mg/mg; 2020-03-05 upcr=>10.0 mg/mg"
    )


def test_a_creatinine_bound_gives_no_egfr_and_is_counted(derive_cohort) -> None:
    # Height 100 cm each day. Jan 1: 59.02 µmol/L → 0.413 × 100 / (59.02 / 88.4) = 61.86;
    # Jun 1: <20 µmol/L, no number for an eGFR: egfr_last stays Jan 1's.
    values = [
        ("P1", D("2020-01-01"), "creatinine", 59.02, "umol/L"),
        ("P1", D("2020-01-01"), "height", 100, "cm"),
        _bound("P1", "2020-06-01", "<20", analyte="creatinine", unit="umol/L"),
        ("P1", D("2020-06-01"), "height", 100, "cm"),
    ]
    derived = derive_cohort(patients=CHILD, measurements=values)
    outcome = outcome_of(derived)
    assert outcome["egfr_first"] == pytest.approx(61.86, abs=0.01)
    assert outcome["egfr_last"] == pytest.approx(61.86, abs=0.01)
    assert "1 creatinine value given as a bound (<, >) left out of eGFR" in derived.warnings


def test_decide_on_each_operator() -> None:
    import ibis

    # (value, qualifier, operator, threshold) → decided; None = undecided.
    cases = [
        (0.1, "<", "le", 0.2, True),  # ≤ 0.1 ≤ 0.2
        (0.2, "<", "le", 0.2, True),
        (0.5, "<", "le", 0.2, None),
        (2.0, "<", "lt", 2.0, None),  # ≤ 2 (≤ is read as <) may be 2
        (1.0, "<", "lt", 2.0, True),
        (1.0, "<", "ge", 2.0, False),
        (5.0, "<", "ge", 2.0, None),
        (2.0, "<", "gt", 2.0, False),
        (10.0, ">", "ge", 2.0, True),
        (2.0, ">", "ge", 2.0, True),
        (1.0, ">", "ge", 2.0, None),
        (2000.0, ">", "le", 300.0, False),
        (300.0, ">", "le", 300.0, None),
        (2.0, ">", "lt", 2.0, False),
        (0.3, None, "le", 0.2, False),
    ]
    table = ibis.memtable(
        {
            "value": [c[0] for c in cases],
            "qualifier": [c[1] for c in cases],
            "k": list(range(len(cases))),
        },
        schema={"value": "float64", "qualifier": "string", "k": "int64"},
    )
    exprs = {
        f"d{k}": decide(table.value, table.qualifier, op, threshold).max(where=table.k == k)
        for k, (_, _, op, threshold, _) in enumerate(cases)
    }
    got = ibis.duckdb.connect().to_pyarrow(table.aggregate(**exprs)).to_pylist()[0]
    assert [got[f"d{k}"] for k in range(len(cases))] == [c[4] for c in cases]


def test_troughs_carry_their_bound_and_creatinine_days_all_creatinine(tmp_path: Path) -> None:
    # Cyclosporine Jan 1 – Dec 31; troughs 150 and >2000 ng/mL while active. Creatinine: Feb 1
    # with a height (eGFR), Jun 1 with none within 90 days (no eGFR, still a creatinine day),
    # Apr 1 <20 (a bound: no number, left out); dialysis from Jul 1: Aug 1 is not native.
    values = [
        ("P1", D("2020-02-01"), "csa_trough", 150, "ng/mL"),
        _bound("P1", "2020-03-01", ">2000", analyte="csa_trough", unit="ng/mL"),
        ("P1", D("2020-02-01"), "creatinine", 50, "umol/L"),
        ("P1", D("2020-02-01"), "height", 120, "cm"),
        ("P1", D("2020-06-01"), "creatinine", 80, "umol/L"),
        _bound("P1", "2020-04-01", "<20", analyte="creatinine", unit="umol/L"),
        ("P1", D("2020-08-01"), "creatinine", 400, "umol/L"),
    ]
    treatments = [("P1", "cyclosporine", "2020-01-01", "2020-12-31", 150, "mg/m2/day", "daily")]
    derived = derive_analysis(
        tmp_path / "c",
        patients=CHILD,
        measurements=values,
        treatments=treatments,
        events=[("P1", "2020-07-01", "dialysis_start")],
    )
    assert rows(derived, "troughs", "date", "value", "qualifier") == [
        (D("2020-02-01"), 150.0, None),
        (D("2020-03-01"), 2000.0, ">"),
    ]
    # Jun 1: the height of Feb 1 is 121 days away, beyond the study's 90: no eGFR.
    assert rows(derived, "creatinine", "date", "creatinine_umol_l", "native", "has_egfr") == [
        (D("2020-02-01"), 50.0, True, True),
        (D("2020-06-01"), 80.0, True, False),
        (D("2020-08-01"), 400.0, False, False),
    ]
