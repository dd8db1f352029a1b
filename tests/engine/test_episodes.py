"""Episodes on hand-made patients (clinical.md §1–§3); expected dates worked out by hand."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.conftest import D, episodes_of, upcr

CHILD = [("P1", "F", "2015-01-01", "2020-01-01")]


def test_complete_remission_needs_three_consecutive_days(derive_cohort) -> None:
    # Two CR values (0.1) broken by a nephrotic one do not confirm complete remission; the
    # three from Feb 1 do, dated back to Feb 1 even though confirmed on Feb 20 (sparse visits).
    # A CR-qualifying day is partial-qualifying too and partial remission is confirmed by one
    # measurement (clinical.md §2): Jan 10 (0.1 ≤ 50% of the baseline 5) opens it.
    values = (
        upcr("P1", "2020-01-01", [5, 5, 5])
        + upcr("P1", "2020-01-10", [0.1, 0.1, 3.0])
        + [
            ("P1", D("2020-02-01"), "upcr", 0.1, "mg/mg"),
            ("P1", D("2020-02-05"), "upcr", 0.15, "mg/mg"),
            ("P1", D("2020-02-20"), "upcr", 0.1, "mg/mg"),
        ]
    )
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-10"), "partial_remission"),
        ("complete_remission", D("2020-02-01"), "complete_remission"),
    ]
    evidence = derived.episodes.to_pylist()[2]["evidence"]
    assert evidence == (
        "2020-02-01 upcr=0.1 mg/mg; 2020-02-05 upcr=0.15 mg/mg; 2020-02-20 upcr=0.1 mg/mg"
    )


def test_relapse_needs_three_consecutive_nephrotic_days(derive_cohort) -> None:
    values = (
        upcr("P1", "2020-01-01", [5, 5, 5])
        + upcr("P1", "2020-01-20", [0.1, 0.1, 0.1])
        + upcr("P1", "2020-03-01", [3.0, 3.0, 0.1])  # two days: no relapse
        + upcr("P1", "2020-04-01", [2.0, 2.5, 4.0])
    )  # three days ≥ 2: relapse on Apr 1
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("complete_remission", D("2020-01-20"), "complete_remission"),
        ("nephrotic", D("2020-04-01"), "nephrotic"),
    ]
    assert [e["end_date"] for e in derived.episodes.to_pylist()] == [
        D("2020-01-19"),
        D("2020-03-31"),
        D("2020-04-03"),
    ]  # the last ends at last follow-up


def test_partial_remission_needs_half_the_baseline(derive_cohort) -> None:
    # Baseline: the first nephrotic value, 3.0 mg/mg. 1.8 < 2 but > 1.5 (50%): not partial;
    # 1.2 ≤ 1.5: partial from its first day.
    values = (
        upcr("P1", "2020-01-01", [3.0, 3.1, 3.2])
        + upcr("P1", "2020-01-10", [1.8, 1.8, 1.8])
        + upcr("P1", "2020-02-01", [1.2, 1.0, 1.1])
    )
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-02-01"), "partial_remission"),
    ]


def test_every_transition_with_its_relapse_flag_and_end_date(derive_cohort) -> None:
    # nephrotic (baseline 3.0) → partial (≤ 1.5) → complete → relapse (baseline now 4.0) →
    # partial (1.0 ≤ 2.0): the state after each day and the day before, across a reset.
    values = (
        upcr("P1", "2020-01-01", [3.0, 3.1, 3.2])
        + upcr("P1", "2020-01-10", [1.2, 1.0, 1.1])
        + upcr("P1", "2020-02-01", [0.1, 0.1, 0.1])
        + upcr("P1", "2020-03-01", [4.0, 4.0, 4.0])
        + upcr("P1", "2020-04-01", [1.0, 1.0, 1.0])
    )
    # A cyclosporine course over the whole span counts the relapses that start within it.
    course = [("P1", "cyclosporine", "2020-01-01", "2020-04-03", 150, "mg/m2/day", "daily")]
    derived = derive_cohort(patients=CHILD, measurements=values, treatments=course)
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-10"), "partial_remission"),
        ("complete_remission", D("2020-02-01"), "complete_remission"),
        ("nephrotic", D("2020-03-01"), "nephrotic"),
        ("partial_remission", D("2020-04-01"), "partial_remission"),
    ]
    rows = derived.episodes.to_pylist()
    # Each ends the day before the next (2020 is a leap year); the last at the last follow-up.
    assert [e["end_date"] for e in rows] == [
        D("2020-01-09"),
        D("2020-01-31"),
        D("2020-02-29"),
        D("2020-03-31"),
        D("2020-04-03"),
    ]
    # Under kdigo2021 only a nephrotic episode after a complete remission is a relapse: Mar 1,
    # not the onset one.
    assert derived.courses.column("relapses").to_pylist() == [1]
    assert rows[3]["evidence"] == (
        "2020-03-01 upcr=4.0 mg/mg; 2020-03-02 upcr=4.0 mg/mg; 2020-03-03 upcr=4.0 mg/mg"
    )


def test_upcr_is_compared_in_its_own_unit_family(derive_cohort) -> None:
    # 21 mg/mmol (= 0.186 mg/mg) is above the mass/mol CR threshold of 20, though 0.186 mg/mg
    # would be below 0.2: not complete, but partial (< 200 and ≤ 50% of the 400 baseline).
    values = upcr("P1", "2020-01-01", [400, 420, 410], unit="mg/mmol") + upcr(
        "P1", "2020-01-10", [21, 21, 21], unit="mg/mmol"
    )
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived)[-1] == ("partial_remission", D("2020-01-10"), "partial_remission")


def test_upcr_wins_over_dipstick_on_the_same_day(derive_cohort) -> None:
    dipsticks = [("P1", D("2020-01-10") + timedelta(days=i), "dipstick", 4, "") for i in range(3)]
    values = upcr("P1", "2020-01-01", [5, 5, 5]) + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1])
    derived = derive_cohort(patients=CHILD, measurements=values + dipsticks)
    assert episodes_of(derived)[-1] == ("complete_remission", D("2020-01-10"), "complete_remission")


def test_values_between_thresholds_do_not_end_a_complete_remission(derive_cohort) -> None:
    values = (
        upcr("P1", "2020-01-01", [5, 5, 5])
        + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1])
        + upcr("P1", "2020-02-01", [1.0, 1.0, 1.0, 1.0])
    )
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert [e[0] for e in episodes_of(derived)] == ["nephrotic", "complete_remission"]


def test_complete_wins_when_partial_and_complete_start_on_one_day(derive_cohort) -> None:
    # From Jan 10 every value is ≤ 0.2: a complete run and a partial run start the same day.
    values = upcr("P1", "2020-01-01", [5, 5, 5]) + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1, 0.1])
    derived = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(derived)[1] == ("complete_remission", D("2020-01-10"), "complete_remission")


def test_a_2plus_dipstick_ends_a_complete_remission_run(derive_cohort) -> None:
    # 2+ is not CR-qualifying: CR, CR, 2+, CR is no run of three, so no complete remission.
    # The negative dipstick of Jan 10 is CR- hence partial-qualifying, and one partial day
    # confirms partial remission (clinical.md §1, §2).
    first = D("2020-01-10")
    dipsticks = [
        ("P1", first + timedelta(days=i), "dipstick", v, "") for i, v in enumerate([0, 0.5, 2, 0])
    ]
    derived = derive_cohort(
        patients=CHILD, measurements=upcr("P1", "2020-01-01", [5, 5, 5]) + dipsticks
    )
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-10"), "partial_remission"),
    ]


def test_a_patient_without_the_sets_stream_has_only_the_onset_episode(derive_cohort) -> None:
    # seed2023 reads 24-hour protein only; UPCR is never converted into it.
    values = upcr("P1", "2020-01-01", [5, 5, 5]) + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1])
    derived = derive_cohort("seed2023", patients=CHILD, measurements=values)
    assert episodes_of(derived) == [("nephrotic", D("2020-01-01"), "onset")]


def test_seed2023_complete_remission_needs_normal_albumin(derive_cohort) -> None:
    protein = [
        ("P1", D("2020-01-01"), "uprot_24h", 3.0, "g/24h"),
        ("P1", D("2020-01-01"), "weight", 20, "kg"),
        ("P1", D("2020-01-20"), "uprot_24h", 0.2, "g/24h"),  # albumin 30: partial
        ("P1", D("2020-01-20"), "albumin", 30, "g/L"),
        ("P1", D("2020-03-01"), "uprot_24h", 0.2, "g/24h"),  # albumin 38: complete
        ("P1", D("2020-03-01"), "albumin", 38, "g/L"),
    ]
    derived = derive_cohort("seed2023", patients=CHILD, measurements=protein)
    # 3.0 g/24h / 20 kg = 150 mg/kg/24h is nephrotic; 0.2 ≤ 50% of 3.0 and albumin not lower
    # than at baseline (none before): partial on Jan 20, complete (confirm 1) on Mar 1.
    assert episodes_of(derived) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-01-20"), "partial_remission"),
        ("complete_remission", D("2020-03-01"), "complete_remission"),
    ]


def test_max_gap_days_splits_a_run(derive_cohort, tmp_path) -> None:
    # kdigo2021 with max_gap_days = 7 for complete remission. CR values on Feb 1, Feb 5 (4 days
    # apart: one run), then Feb 20 (15 days after Feb 5: a new run), Feb 22, Feb 25. The first
    # run holds two days and confirms nothing; the second starts on Feb 20 although Feb 5 met
    # CR too, because Feb 5 lies beyond the gap. The partial rule has no gap and CR days count
    # in partial runs (clinical.md §1): partial remission from Feb 1 comes first. Without the
    # gap all five are one complete-remission run (Feb 1).
    from importlib.resources import files

    text = (files("srnskit.definitions") / "kdigo2021.toml").read_text(encoding="utf-8")
    text = text.replace("[complete_remission]\n", "[complete_remission]\nmax_gap_days = 7\n")
    gap_file = tmp_path / "gap.toml"
    gap_file.write_text(text.replace('name = "kdigo2021"', 'name = "gap"'), encoding="utf-8")
    values = upcr("P1", "2020-01-01", [5, 5, 5]) + [
        ("P1", D(day), "upcr", 0.1, "mg/mg")
        for day in ("2020-02-01", "2020-02-05", "2020-02-20", "2020-02-22", "2020-02-25")
    ]
    with_gap = derive_cohort(str(gap_file), patients=CHILD, measurements=values)
    assert episodes_of(with_gap) == [
        ("nephrotic", D("2020-01-01"), "onset"),
        ("partial_remission", D("2020-02-01"), "partial_remission"),
        ("complete_remission", D("2020-02-20"), "complete_remission"),
    ]
    assert with_gap.episodes.to_pylist()[2]["evidence"] == (
        "2020-02-20 upcr=0.1 mg/mg; 2020-02-22 upcr=0.1 mg/mg; 2020-02-25 upcr=0.1 mg/mg"
    )
    without = derive_cohort(patients=CHILD, measurements=values)
    assert episodes_of(without)[1] == ("complete_remission", D("2020-02-01"), "complete_remission")


def test_each_childs_labels_come_back_under_its_own_identifier(derive_cohort) -> None:
    # The engine numbers the children internally; outputs carry the identifiers again, in
    # their text order ("A10" before "A2"). Only A2 has three CR days (from Mar 1).
    children = [("A2", "F", "2015-01-01", "2020-01-01"), ("A10", "M", "2014-01-01", "2020-01-01")]
    values = (
        upcr("A2", "2020-01-01", [5, 5, 5])
        + upcr("A2", "2020-03-01", [0.1, 0.1, 0.1])
        + upcr("A10", "2020-01-01", [6, 6, 6])
    )
    derived = derive_cohort(patients=children, measurements=values)
    outcomes = derived.patient_outcomes.to_pylist()
    assert [o["patient_id"] for o in outcomes] == ["A10", "A2"]
    assert [o["first_remission_date"] for o in outcomes] == [None, D("2020-03-01")]
    assert episodes_of(derived, "A2")[1] == (
        "complete_remission",
        D("2020-03-01"),
        "complete_remission",
    )
