"""Partial remission under kdigo2021 (clinical.md §1, §2) on hand-made children: one measurement
confirms it (UPCR < 2 mg/mg and ≤ 50% of the episode's baseline), and a 1+ or 2+ dipstick is
compatible with it (it neither counts toward nor ends a partial run) while it still ends a
complete-remission run and a nephrotic run, and never opens or confirms anything. Complete
remission and relapse still need 3 consecutive proteinuria days."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from tests.engine.conftest import D, episodes_of, outcome_of, upcr

CHILD = [("P1", "F", "2015-01-01", "2020-01-01")]
ONSET = upcr("P1", "2020-01-01", [5, 5, 5])  # nephrotic from onset, baseline 5 mg/mg


def _dipstick(day: str, level: float) -> tuple[Any, ...]:
    return ("P1", D(day), "dipstick", level, "")


def test_one_upcr_confirms_partial_remission(derive_cohort) -> None:
    # Jan 20: 1.0 mg/mg < 2 and ≤ 0.5 × 5 = 2.5 (the baseline of Jan 1): partial remission on
    # that one day, the child's first remission.
    derived = derive_cohort(patients=CHILD, measurements=[*ONSET, *upcr("P1", "2020-01-20", [1.0])])
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-20"), "partial_remission"),
    ]
    assert derived.episodes.to_pylist()[1]["evidence"] == "2020-01-20 upcr=1.0 mg/mg"
    outcome = outcome_of(derived)
    assert (outcome["first_remission_date"], outcome["first_remission_type"]) == (
        D("2020-01-20"),
        "partial",
    )


def test_one_upcr_above_half_the_baseline_is_no_partial_remission(derive_cohort) -> None:
    # 3.0 mg/mg is nephrotic; 1.9 mg/mg < 2 but 1.9 > 0.5 × 3.0 = 1.5 from the baseline of
    # Jan 1 (3.0): no reduction, so nothing opens.
    values = [*upcr("P1", "2020-01-01", [3.0, 3.0, 3.0]), *upcr("P1", "2020-01-20", [1.9])]
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [("nephrotic", D("2020-01-01"), "onset")]


def test_a_1plus_or_2plus_dipstick_opens_nothing(derive_cohort) -> None:
    # Only 1+ and 2+ readings after onset: never a partial (nor any) remission.
    values = [*ONSET, *(_dipstick(f"2020-01-{d}", v) for d, v in ((20, 1), (21, 2), (22, 1)))]
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [("nephrotic", D("2020-01-01"), "onset")]


def test_a_1plus_dipstick_still_ends_a_complete_remission_run(derive_cohort) -> None:
    # Dipsticks neg Jan 10, 1+ Jan 11, neg Jan 12, 13, 14. The 1+ ends the CR run of Jan 10
    # (one day); Jan 12–14 are three CR days: complete remission from Jan 12. Jan 10 (negative:
    # CR-, hence partial-qualifying) opens partial remission first, confirmed by that one day.
    levels = [("10", 0), ("11", 1), ("12", 0), ("13", 0), ("14", 0)]
    values = [*ONSET, *(_dipstick(f"2020-01-{d}", v) for d, v in levels)]
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-10"), "partial_remission"),
        ("complete_remission", D("2020-01-12"), "complete_remission"),
    ]
    assert derived.episodes.to_pylist()[2]["evidence"] == (
        "2020-01-12 dipstick=neg; 2020-01-13 dipstick=neg; 2020-01-14 dipstick=neg"
    )


def test_a_2plus_dipstick_still_ends_a_relapse_run(derive_cohort) -> None:
    # In complete remission from Jan 20 (0.1 × 3). Then 3+ Mar 1, 2; 2+ Mar 3; 3+ Mar 4, 5:
    # the 2+ ends the run of Mar 1–2 (two days), Mar 4–5 are two more: no relapse yet. A 3+
    # on Mar 6 makes three from Mar 4: the relapse dates from Mar 4, not Mar 1.
    remission = [*ONSET, *upcr("P1", "2020-01-20", [0.1, 0.1, 0.1])]
    levels = [("01", 3), ("02", 3), ("03", 2), ("04", 3), ("05", 3)]
    readings = [_dipstick(f"2020-03-{d}", v) for d, v in levels]
    before = derive_cohort(patients=CHILD, measurements=remission + readings)
    assert episodes_of(before)[-1] == (
        "complete_remission",
        D("2020-01-20"),
        "complete_remission",
    )
    after = derive_cohort(
        patients=CHILD, measurements=remission + readings + [_dipstick("2020-03-06", 3)]
    )
    assert episodes_of(after)[-1] == ("nephrotic", D("2020-03-04"), "nephrotic")
    assert after.episodes.to_pylist()[-1]["evidence"] == (
        "2020-03-04 dipstick=3+; 2020-03-05 dipstick=3+; 2020-03-06 dipstick=3+"
    )


def _confirm_three(tmp_path: Path) -> str:
    """kdigo2021 with partial remission confirmed over 3 proteinuria days (a set may ask more,
    clinical.md §2)."""
    text = (files("srnskit.definitions") / "kdigo2021.toml").read_text(encoding="utf-8")
    head, tail = text.split("[partial_remission]\n", 1)
    tail = tail.replace("confirm_count = 1", "confirm_count = 3", 1)
    path = tmp_path / "pr3.toml"
    path.write_text(
        (head + "[partial_remission]\n" + tail).replace('name = "kdigo2021"', 'name = "pr3"'),
        encoding="utf-8",
    )
    return str(path)


# UPCR 1.0 Jan 20, 1.2 Jan 25, 0.8 Feb 1 (each < 2 and ≤ 2.5 = half the baseline 5), with
# 1+/2+ home dipsticks on Jan 19 (before the first), Jan 21, 22 and 26 between them.
BETWEEN_UPCRS = [
    _dipstick("2020-01-19", 1),
    *upcr("P1", "2020-01-20", [1.0]),
    _dipstick("2020-01-21", 1),
    _dipstick("2020-01-22", 2),
    *upcr("P1", "2020-01-25", [1.2]),
    _dipstick("2020-01-26", 2),
    *upcr("P1", "2020-02-01", [0.8]),
]


def test_1plus_2plus_days_do_not_end_a_three_day_partial_run(derive_cohort, tmp_path) -> None:
    # The partial run is Jan 20, 25 and Feb 1: the dipsticks neither count (the run would
    # otherwise be confirmed on Jan 22 from Jan 19) nor end it (the run would otherwise hold one
    # day each time). It starts on its first UPCR, Jan 20, and its evidence lists the UPCRs.
    derived = derive_cohort(
        _confirm_three(tmp_path), patients=CHILD, measurements=ONSET + BETWEEN_UPCRS
    )
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-20"), "partial_remission"),
    ]
    assert derived.episodes.to_pylist()[1]["evidence"] == (
        "2020-01-20 upcr=1.0 mg/mg; 2020-01-25 upcr=1.2 mg/mg; 2020-02-01 upcr=0.8 mg/mg"
    )


def test_a_3plus_dipstick_ends_a_three_day_partial_run(derive_cohort, tmp_path) -> None:
    # The same days with Jan 22 read 3+ (nephrotic range, not compatible with partial
    # remission): the run is cut into Jan 20 and Jan 25–Feb 1, neither holds three days.
    readings = [r if r[1] != D("2020-01-22") else _dipstick("2020-01-22", 3) for r in BETWEEN_UPCRS]
    derived = derive_cohort(_confirm_three(tmp_path), patients=CHILD, measurements=ONSET + readings)
    assert episodes_of(derived) == [("nephrotic", D("2020-01-01"), "onset")]
