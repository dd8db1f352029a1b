"""Drug exposure, one rule for courses and the analysis (clinical.md §4, §9): active_end, the
toxicity attribution with the set's rituximab window, troughs while active, last follow-up."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import outcome_of
from tests.engine.rules.helpers import D, derive_analysis, rows

CHILD = [("P1", "M", "2012-05-01", "2020-01-01")]
SETS = Path(__file__).parents[3] / "src" / "srnskit" / "definitions"


def test_active_end_of_each_row_and_the_courses_cut_from_it(tmp_path: Path) -> None:
    # Rituximab 2021-01-10 (end = start): active to 2021-01-10 + 180 = 2021-07-09 (Jan 21 days
    # left + Feb 28 + Mar 31 + Apr 30 + May 31 + Jun 30 = 171 → July 9). MMF 2021-02-01 ongoing:
    # to the last follow-up, 2021-12-31 (the last UPCR). Prednisone 2021-01-01..2021-01-20 keeps
    # its end. Courses: rituximab 2021-01-10..01-31; mmf+rituximab 02-01..07-09; mmf 07-10..12-31.
    treatments = [
        ("P1", "prednisone", "2021-01-01", "2021-01-20", 40, "mg/day", "daily"),
        ("P1", "rituximab", "2021-01-10", "2021-01-10", 375, "mg/m2", "single"),
        ("P1", "mmf", "2021-02-01", "", 600, "mg/m2/day", "daily"),
    ]
    values = [("P1", "2021-12-31", "upcr", 0.1, "mg/mg")]
    derived = derive_analysis(
        tmp_path / "c", patients=CHILD, measurements=values, treatments=treatments
    )
    assert rows(derived, "exposures", "drug", "start_date", "end_date", "active_end") == [
        ("prednisone", D("2021-01-01"), D("2021-01-20"), D("2021-01-20")),
        ("rituximab", D("2021-01-10"), D("2021-01-10"), D("2021-07-09")),
        ("mmf", D("2021-02-01"), None, D("2021-12-31")),
    ]
    courses = [(c["regimen"], c["start_date"], c["end_date"]) for c in derived.courses.to_pylist()]
    assert courses == [
        ("rituximab", D("2021-01-10"), D("2021-01-31")),
        ("mmf+rituximab", D("2021-02-01"), D("2021-07-09")),
        ("mmf", D("2021-07-10"), D("2021-12-31")),
    ]


def test_rituximab_is_active_no_longer_than_the_last_follow_up(tmp_path: Path) -> None:
    # Infusion 2021-01-10; last follow-up 2021-03-01 (the last value), before day 180.
    treatments = [("P1", "rituximab", "2021-01-10", "2021-01-10", 375, "mg/m2", "single")]
    values = [("P1", "2021-03-01", "upcr", 0.1, "mg/mg")]
    derived = derive_analysis(
        tmp_path / "c", patients=CHILD, measurements=values, treatments=treatments
    )
    assert rows(derived, "exposures", "active_end") == [(D("2021-03-01"),)]


def test_toxicity_is_attributed_with_the_sets_rituximab_window(tmp_path: Path) -> None:
    # Rituximab 2021-01-10, active to 2021-07-09 (kdigo2021: rituximab_active_days = 180).
    # Cyclosporine 2021-03-01..2021-05-31. Follow-up to 2021-12-31.
    # - lymphopenia 2021-04-10, no drug: rituximab (day 90 of 180) and cyclosporine, both
    #   active → two rows. Before the fix (rituximab active on its infusion day only) it went
    #   to cyclosporine alone.
    # - lymphopenia 2021-06-20, no drug: rituximab alone (cyclosporine ended 05-31).
    # - infection 2021-08-01, no drug: 203 days after the infusion, nothing active → drug NULL.
    # - hypertrichosis 2021-04-01 recorded against cyclosporine → that drug alone.
    treatments = [
        ("P1", "rituximab", "2021-01-10", "2021-01-10", 375, "mg/m2", "single"),
        ("P1", "cyclosporine", "2021-03-01", "2021-05-31", 150, "mg/m2/day", "daily"),
    ]
    adverse = [
        ("P1", "2021-04-10", "lymphopenia", "", 2),
        ("P1", "2021-06-20", "lymphopenia", "", 3),
        ("P1", "2021-08-01", "infection", "", 2),
        ("P1", "2021-04-01", "hypertrichosis", "cyclosporine", 1),
    ]
    values = [("P1", "2021-12-31", "upcr", 0.1, "mg/mg")]
    derived = derive_analysis(
        tmp_path / "c",
        patients=CHILD,
        measurements=values,
        treatments=treatments,
        adverse_events=adverse,
    )
    assert rows(derived, "adverse_events", "date", "event", "drug", "grade") == [
        (D("2021-04-01"), "hypertrichosis", "cyclosporine", 1),
        (D("2021-04-10"), "lymphopenia", "cyclosporine", 2),
        (D("2021-04-10"), "lymphopenia", "rituximab", 2),
        (D("2021-06-20"), "lymphopenia", "rituximab", 3),
        (D("2021-08-01"), "infection", None, 2),
    ]


def test_the_rituximab_window_is_the_definition_sets(tmp_path: Path) -> None:
    # Infusion 2021-01-10. Under kdigo2021 (180 days) day 180 = 2021-07-09 is active and day 181
    # is not; under a copy of it with rituximab_active_days = 90, day 90 = 2021-04-10 is active
    # and day 91 = 2021-04-11 is not (21 days left in January + 28 + 31 + 10 = 90).
    treatments = [("P1", "rituximab", "2021-01-10", "2021-01-10", 375, "mg/m2", "single")]
    days = ("2021-04-10", "2021-04-11", "2021-07-09", "2021-07-10")
    adverse = [("P1", day, "leukopenia", "", 2) for day in days]
    tables = dict(
        patients=CHILD,
        measurements=[("P1", "2021-12-31", "upcr", 0.1, "mg/mg")],
        treatments=treatments,
        adverse_events=adverse,
    )
    shipped = derive_analysis(tmp_path / "shipped", **tables)
    assert rows(shipped, "adverse_events", "drug") == [
        ("rituximab",),
        ("rituximab",),
        ("rituximab",),
        (None,),
    ]
    text = (SETS / "kdigo2021.toml").read_text()
    assert "rituximab_active_days = 180" in text
    short = tmp_path / "short.toml"
    short.write_text(text.replace("rituximab_active_days = 180", "rituximab_active_days = 90"))
    derived = derive_analysis(tmp_path / "short", definitions=str(short), **tables)
    assert rows(derived, "adverse_events", "drug") == [("rituximab",), (None,), (None,), (None,)]


def test_each_trough_once_while_cyclosporine_is_active(tmp_path: Path) -> None:
    # Two overlapping cyclosporine rows (2021-01-01..03-31 and 2021-03-01..04-30): the trough of
    # 2021-03-15 counts once; 2021-05-15 is after both (not counted); 2020-12-31 before.
    treatments = [
        ("P1", "cyclosporine", "2021-01-01", "2021-03-31", 150, "mg/m2/day", "daily"),
        ("P1", "cyclosporine", "2021-03-01", "2021-04-30", 150, "mg/m2/day", "daily"),
    ]
    values = [
        ("P1", "2020-12-31", "csa_trough", 50, "ng/mL"),
        ("P1", "2021-01-10", "csa_trough", 110, "ng/mL"),
        ("P1", "2021-03-15", "csa_trough", 90, "ng/mL"),
        ("P1", "2021-05-15", "csa_trough", 70, "ng/mL"),
    ]
    derived = derive_analysis(
        tmp_path / "c", patients=CHILD, measurements=values, treatments=treatments
    )
    assert rows(derived, "troughs", "drug", "date", "value") == [
        ("cyclosporine", D("2021-01-10"), 110.0),
        ("cyclosporine", D("2021-03-15"), 90.0),
    ]


def test_last_follow_up_reads_every_table(tmp_path: Path) -> None:
    # Onset 2020-01-01; the latest date of each kind: a UPCR 2020-06-01, a treatment end
    # 2020-12-31, an event (last_visit) 2020-03-01 that does not cap it, an adverse event
    # 2021-06-01. followup_days = 2021-06-01 − 2020-01-01 = 366 + 151 = 517.
    treatments = [("P1", "mmf", "2020-02-01", "2020-12-31", 600, "mg/m2/day", "daily")]
    tables = dict(
        patients=CHILD,
        measurements=[("P1", "2020-06-01", "upcr", 0.1, "mg/mg")],
        treatments=treatments,
        events=[("P1", "2020-03-01", "last_visit")],
    )
    adverse = [("P1", "2021-06-01", "infection", "", 2)]
    derived = derive_analysis(tmp_path / "ae", adverse_events=adverse, **tables)
    assert outcome_of(derived)["followup_days"] == 517
    # Without the adverse event, the treatment's end: 2020-12-31 − 2020-01-01 = 365.
    assert outcome_of(derive_analysis(tmp_path / "t", **tables))["followup_days"] == 365
