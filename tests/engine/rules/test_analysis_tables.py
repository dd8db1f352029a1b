"""``Derived.analysis``: the tables the analysis reads, computed only when asked for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import derive
from srnskit.engine.derived import analysis_schema, declared
from srnskit.schema import ANALYSIS_TABLES
from tests.engine.conftest import TODAY, upcr, write_cohort
from tests.engine.rules.helpers import D, derive_analysis, rows

CHILD = [("P1", "F", "2014-01-01", "2020-01-01")]


def test_derive_alone_computes_no_analysis_tables(tmp_path: Path) -> None:
    write_cohort(tmp_path, patients=CHILD, measurements=upcr("P1", "2020-01-01", [5]))
    derived = derive(read_cohort(tmp_path, today=TODAY), load_definitions("kdigo2021"))
    assert derived.analysis is None


def test_every_analysis_table_in_its_declared_schema(tmp_path: Path) -> None:
    derived = derive_analysis(
        tmp_path / "c", patients=CHILD, measurements=upcr("P1", "2020-01-01", [5])
    )
    assert derived.analysis is not None
    assert set(derived.analysis) == set(ANALYSIS_TABLES)
    for name, table in derived.analysis.items():
        assert table.schema.equals(analysis_schema(name)), name
    assert rows(derived, "patients", "patient_id", "sex", "onset_date") == [
        ("P1", "F", D("2020-01-01"))
    ]


def test_relapses_are_the_engines_relapse_episodes(tmp_path: Path) -> None:
    # kdigo2021: nephrotic from onset, complete remission from 2020-01-10 (3 days ≤ 0.2), relapse
    # from 2020-03-01 (3 days ≥ 2), complete remission again from 2020-04-01: one relapse,
    # 2020-03-01 … 2020-03-31 (the day before the next state).
    values = (
        upcr("P1", "2020-01-01", [5, 5, 5])
        + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1])
        + upcr("P1", "2020-03-01", [3, 3, 3])
        + upcr("P1", "2020-04-01", [0.1, 0.1, 0.1])
    )
    derived = derive_analysis(tmp_path / "c", patients=CHILD, measurements=values)
    assert rows(derived, "relapses", "start_date", "end_date") == [
        (D("2020-03-01"), D("2020-03-31"))
    ]


def test_presentation_is_the_highest_proteinuria_lowest_albumin_first_other_in_the_window(
    tmp_path: Path,
) -> None:
    # The study's window, no steroid given: onset − 7 … onset + 7 = 2019-12-25 … 2020-01-08.
    # UPCR: 2019-12-20 (9) is before it; in it 400 mg/mmol and 4 mg/mg on 2019-12-28 and 6 mg/mg
    # on 2020-01-05: the mass/mass family first (clinical.md §1), its highest → 6.0 mg/mg.
    # Albumin: 21 and 18 on 2020-01-02, 15 on 2020-01-08 (the last day) → the lowest, 15; 12 on
    # 2020-01-20 is after it. Creatinine: the first, 2020-01-03 (40, not the later 30); 24-hour
    # protein on 2020-01-31 is after the window → none.
    values = [
        ("P1", "2019-12-20", "upcr", 9.0, "mg/mg"),
        ("P1", "2019-12-28", "upcr", 400.0, "mg/mmol"),
        ("P1", "2019-12-28", "upcr", 4.0, "mg/mg"),
        ("P1", "2020-01-05", "upcr", 6.0, "mg/mg"),
        ("P1", "2020-01-02", "albumin", 21, "g/L"),
        ("P1", "2020-01-02", "albumin", 18, "g/L"),
        ("P1", "2020-01-08", "albumin", 15, "g/L"),
        ("P1", "2020-01-20", "albumin", 12, "g/L"),
        ("P1", "2020-01-03", "creatinine", 40, "umol/L"),
        ("P1", "2020-01-06", "creatinine", 30, "umol/L"),
        ("P1", "2020-01-31", "uprot_24h", 2.5, "g/24h"),
    ]
    derived = derive_analysis(tmp_path / "c", patients=CHILD, measurements=values)
    assert rows(derived, "presentation", "analyte", "value", "unit") == [
        ("albumin", 15.0, "g/L"),
        ("creatinine", 40.0, "umol/L"),
        ("upcr", 6.0, "mg/mg"),
    ]


def test_proteinuria_dates_are_the_distinct_days_of_any_stream(tmp_path: Path) -> None:
    # Two UPCR and a dipstick on 2020-01-01 (one day), a 24-hour protein on 2020-01-03, an
    # albumin on 2020-01-02 (not proteinuria).
    values = [
        ("P1", "2020-01-01", "upcr", 5, "mg/mg"),
        ("P1", "2020-01-01", "upcr", 6, "mg/mg"),
        ("P1", "2020-01-01", "dipstick", 3, ""),
        ("P1", "2020-01-02", "albumin", 20, "g/L"),
        ("P1", "2020-01-03", "uprot_24h", 2, "g/24h"),
    ]
    derived = derive_analysis(tmp_path / "c", patients=CHILD, measurements=values)
    assert rows(derived, "proteinuria_dates", "date") == [(D("2020-01-01"),), (D("2020-01-03"),)]


def test_the_analysis_tables_cast_like_the_derived_ones() -> None:
    # A backend's int32 value (Spark narrows literals) comes back as the declared float64.
    raw = pa.table(
        {
            "patient_id": ["P1"],
            "date": pa.array([dt.date(2020, 1, 1)], pa.date32()),
            "value": pa.array([1], pa.int32()),
            "drug": ["cyclosporine"],
            "qualifier": pa.nulls(1, pa.string()),
        }
    )
    troughs = declared(raw.select(["patient_id", "drug", "date", "value", "qualifier"]), "troughs")
    assert troughs.schema.equals(analysis_schema("troughs"))
    assert troughs.column("value").to_pylist() == [1.0]


def test_tacrolimus_troughs_reach_the_troughs_table(tmp_path: Path) -> None:
    # Tacrolimus Mar 1 – Jun 30, cyclosporine Jan 1 – Feb 28. tac_trough 6 on Apr 1 (on
    # tacrolimus: kept, drug tacrolimus), 5 on Jan 15 (on cyclosporine, not tacrolimus: left
    # out); csa_trough 120 on Feb 1 (kept, drug cyclosporine), 110 on Apr 1 (left out).
    values = [
        ("P1", "2020-04-01", "tac_trough", 6, "ng/mL"),
        ("P1", "2020-01-15", "tac_trough", 5, "ng/mL"),
        ("P1", "2020-02-01", "csa_trough", 120, "ng/mL"),
        ("P1", "2020-04-01", "csa_trough", 110, "ng/mL"),
    ]
    treatments = [
        ("P1", "cyclosporine", "2020-01-01", "2020-02-28", 150, "mg/m2/day", "daily"),
        ("P1", "tacrolimus", "2020-03-01", "2020-06-30", 0.1, "mg/kg/day", "daily"),
    ]
    derived = derive_analysis(
        tmp_path / "c", patients=CHILD, measurements=values, treatments=treatments
    )
    assert rows(derived, "troughs", "drug", "date", "value") == [
        ("cyclosporine", D("2020-02-01"), 120.0),
        ("tacrolimus", D("2020-04-01"), 6.0),
    ]


def test_a_bound_is_no_value_at_diagnosis_and_is_counted(tmp_path: Path) -> None:
    # The window 2019-12-25 … 2020-01-08 (no steroid). UPCR >10 on Jan 2 and 6 mg/mg on Jan 5:
    # the bound has no number, so the value at diagnosis is 6 (not 10). Albumin <10 on Jan 3 and
    # 18 on Jan 4: 18. Creatinine <20 on Jan 1 and 35 on Jan 6: the first exact one, 35. Three
    # bounds left out, counted in the warnings; the <5 UPCR of Jan 30 is after the window and
    # not counted.
    values = [
        ("P1", "2020-01-02", "upcr", ">10", "mg/mg"),
        ("P1", "2020-01-05", "upcr", 6.0, "mg/mg"),
        ("P1", "2020-01-03", "albumin", "<10", "g/L"),
        ("P1", "2020-01-04", "albumin", 18, "g/L"),
        ("P1", "2020-01-01", "creatinine", "<20", "umol/L"),
        ("P1", "2020-01-06", "creatinine", 35, "umol/L"),
        ("P1", "2020-01-30", "upcr", "<5", "mg/mg"),
    ]
    derived = derive_analysis(tmp_path / "c", patients=CHILD, measurements=values)
    assert rows(derived, "presentation", "analyte", "value", "unit") == [
        ("albumin", 18.0, "g/L"),
        ("creatinine", 35.0, "umol/L"),
        ("upcr", 6.0, "mg/mg"),
    ]
    assert (
        "3 values at diagnosis given as a bound (<, >) left out of the values at diagnosis"
        in derived.warnings
    )
