"""The row and link checks (``cohort.links``, ``cohort.plausibility``, ``cohort.chronology``) run
as Ibis expressions through a ``DuckDBChecks`` engine on one small hand-written bad cohort.

Every expected problem (row, column, message) is worked out by hand from the cells below and
cohort-format.md §2, §4; rows are numbered as a CSV's (the header is row 1, the first record
row 2); ``today`` is 2020-01-01.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from srnskit.cohort.chronology import check_impossible_dates
from srnskit.cohort.expressions import DuckDBChecks
from srnskit.cohort.links import (
    check_patient_links,
    check_patients,
    check_treatments,
    drop_patient_spans,
    spans_table,
)
from srnskit.cohort.parse import register_units
from srnskit.cohort.plausibility import (
    check_measurements,
    implausible_value_message,
    kept_unit_pairs,
)
from srnskit.schema import COHORT_TABLES

TODAY = dt.date(2020, 1, 1)

# Each table's records as {column: cell}; a column not named is blank (NULL).
COHORT: dict[str, list[dict[str, str]]] = {
    "patients": [
        # row 2: onset a year before birth.
        {"patient_id": "P1", "birth_date": "2010-01-01", "onset_date": "2009-01-01"},
        # row 3: the biopsy before birth; a variant although genetic testing is 'no'.
        {
            "patient_id": "P2",
            "birth_date": "2012-03-04",
            "onset_date": "2013-01-01",
            "biopsy_date": "2012-01-01",
            "genetic_testing": "no",
            "genetic_variant": "NPHS2",
        },
        # row 4: P1 again.
        {"patient_id": "P1", "birth_date": "2010-01-01", "onset_date": "2011-01-01"},
        # row 5: onset after today (a date-time, read as its day).
        {"patient_id": "P3", "birth_date": "2015-06-01", "onset_date": "2021-02-03T10:00"},
        # row 6: a variant with an unreadable genetic_testing: not 'false', no warning here.
        {
            "patient_id": "P4",
            "birth_date": "2014-01-01",
            "onset_date": "2016-01-01",
            "genetic_testing": "maybe",
            "genetic_variant": "WT1",
        },
        # row 7: a birth year 1712 (before 1900).
        {"patient_id": "P5", "birth_date": "1712-04-01", "onset_date": "2015-01-01"},
        # row 8: onset 30 years after birth (more than 25).
        {"patient_id": "P6", "birth_date": "1960-01-01", "onset_date": "1990-01-01"},
    ],
    "measurements": [
        # row 2: a patient not in the patients table.
        {"patient_id": "P9", "date": "2015-01-01", "analyte": "albumin", "value": "30"}
        | {"unit": "g/L"},
        # row 3: before P1's birth (2010-01-01); albumin 30 g/L is plausible.
        {
            "patient_id": "P1",
            "date": "2009-06-01",
            "analyte": "albumin",
            "value": "30",
            "unit": "g/L",
        },
        # row 4: after today; 0.6 umol/L is implausible, 0.6 mg/dL × 88.4 = 53.04 umol/L is not.
        {
            "patient_id": "P2",
            "date": "2021-01-01",
            "analyte": "creatinine",
            "value": "0.6",
            "unit": "umol/L",
        },
        # row 5: a comma: 1200 umol/L (plausible) or 1.2 umol/L (not); µmol/L reads as umol/L.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "creatinine", "value": "1,200"}
        | {"unit": "µmol/L"},
        # row 6: not a unit of creatinine.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "creatinine", "value": "60"}
        | {"unit": "mmol/L"},
        # row 7: albumin without its unit.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "albumin", "value": "30"},
        # row 8: no dipstick level.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "dipstick", "value": "5+"},
        # row 9: edema is 0 or 1, not 0.5.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "edema", "value": "0.5"},
        # row 10: edema (any case) takes no unit: a warning; its value 1 is fine.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "Edema", "value": "1"}
        | {"unit": "cm"},
        # row 11: 1.2 umol/L is implausible; read with '.' as thousands, 1200 is plausible.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "creatinine", "value": "1.200"}
        | {"unit": "umol/L"},
        # row 12: a bound: <0.5 mg/dL is 0.5 × 88.4 = 44.2 umol/L, plausible.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "creatinine", "value": "<0.5"}
        | {"unit": "mg/dL"},
        # row 13: a dipstick word, plausible.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "dipstick", "value": "trace"},
        # row 14: 35 years after P6's birth (1960-01-01), more than 30.
        {"patient_id": "P6", "date": "1995-01-01", "analyte": "sbp", "value": "100"}
        | {"unit": "mmHg"},
        # row 15: a number beyond a 64-bit integer's range (10^19) is still read and judged.
        {"patient_id": "P2", "date": "2013-02-02", "analyte": "creatinine"}
        | {"value": "10000000000000000000", "unit": "umol/L"},
    ],
    "treatments": [
        # row 2: the end before the start.
        {"patient_id": "P1", "drug": "prednisone"}
        | {"start_date": "2014-02-01", "end_date": "2014-01-01"},
        # row 3: a dose without its unit.
        {"patient_id": "P1", "drug": "prednisone", "start_date": "2014-01-01", "dose": "60"},
        # row 4: a unit without its dose.
        {"patient_id": "P1", "drug": "prednisone", "start_date": "2014-01-01"}
        | {"dose_unit": "mg"},
        # row 5: a patient not in the patients table.
        {"patient_id": "P7", "drug": "prednisone", "start_date": "2014-01-01"},
        # row 6: started before P3's birth (2015-06-01).
        {"patient_id": "P3", "drug": "prednisone", "start_date": "2015-01-01"},
    ],
}


@pytest.fixture
def engine() -> DuckDBChecks:
    """The cohort's raw tables as validation makes them: ``cells_NAME`` of text, and the view
    ``raw_NAME`` adding ``_row`` (the record's position + 2), with the units lookup."""
    con = duckdb.connect()
    for name, records in COHORT.items():
        columns = COHORT_TABLES[name].column_names
        con.execute(f"CREATE TABLE cells_{name} ({', '.join(f'{c} VARCHAR' for c in columns)})")
        values = [tuple(r.get(c) for c in columns) for r in records]
        con.executemany(
            f"INSERT INTO cells_{name} VALUES ({', '.join('?' * len(columns))})", values
        )
        con.execute(f"CREATE VIEW raw_{name} AS SELECT rowid + 2 AS _row, * FROM cells_{name}")
    register_units(con)
    return DuckDBChecks(con)


def _found(problems: list) -> list[tuple]:
    return [(p.table, p.row, p.column, p.severity, p.message) for p in problems]


def test_patients_repeats_dates_before_birth_variants_and_the_future(engine) -> None:
    assert _found(check_patients(engine, TODAY)) == [
        (
            "patients",
            4,
            "patient_id",
            "error",
            "patient_id 'P1' appears again (first on row 2); it must be unique",
        ),
        (
            "patients",
            2,
            "onset_date",
            "error",
            "onset (2009-01-01) is before birth (2010-01-01); is one of the dates mistyped?",
        ),
        (
            "patients",
            3,
            "biopsy_date",
            "error",
            "the biopsy (2012-01-01) is before birth (2012-03-04); is one of the dates mistyped?",
        ),
        (
            "patients",
            3,
            "genetic_variant",
            "warning",
            "a genetic_variant is given but genetic_testing is false",
        ),
        (
            "patients",
            5,
            "onset_date",
            "error",
            "onset_date 2021-02-03 is in the future (today is 2020-01-01)",
        ),
    ]


def test_measurements_of_unknown_patients_before_birth_and_in_the_future(engine) -> None:
    assert _found(check_patient_links(engine, COHORT_TABLES["measurements"], TODAY)) == [
        ("measurements", 2, "patient_id", "error", "patient 'P9' is not in the patients table"),
        (
            "measurements",
            3,
            "date",
            "error",
            "date 2009-06-01 is before the patient's birth (2010-01-01)",
        ),
        (
            "measurements",
            4,
            "date",
            "error",
            "date 2021-01-01 is in the future (today is 2020-01-01)",
        ),
    ]


def test_treatments_links_and_their_own_rules(engine) -> None:
    assert _found(check_patient_links(engine, COHORT_TABLES["treatments"], TODAY)) == [
        ("treatments", 5, "patient_id", "error", "patient 'P7' is not in the patients table"),
        (
            "treatments",
            6,
            "start_date",
            "error",
            "start_date 2015-01-01 is before the patient's birth (2015-06-01)",
        ),
    ]
    units = "mg/day, mg/m2/day, mg/kg/day, mg, mg/m2, mg/kg"
    assert _found(check_treatments(engine)) == [
        (
            "treatments",
            2,
            "end_date",
            "error",
            "end_date 2014-01-01 is before start_date 2014-02-01",
        ),
        ("treatments", 3, "dose_unit", "error", f"a dose needs a dose_unit: {units}"),
        ("treatments", 4, "dose", "warning", "a dose_unit is given without a dose"),
    ]


def test_measurement_values_units_and_mix_ups(engine) -> None:
    assert _found(check_measurements(engine)) == [
        (
            "measurements",
            4,
            "value",
            "error",
            "creatinine 0.6 umol/L is outside the plausible 5–2000 umol/L; "
            "it looks like mg/dL (0.6 mg/dL = 53 umol/L)",
        ),
        (
            "measurements",
            5,
            "value",
            "error",
            "'1,200' is not a number: it reads as 1200 umol/L with a thousands separator "
            "(plausible for creatinine) or as 1.2 umol/L with a decimal comma (implausible "
            "for creatinine); write 1200",
        ),
        (
            "measurements",
            6,
            "unit",
            "error",
            "'mmol/L' is not a unit of creatinine; use one of umol/L, mg/dL",
        ),
        ("measurements", 7, "unit", "error", "albumin needs a unit: g/L, g/dL"),
        (
            "measurements",
            8,
            "value",
            "error",
            "'5+' is not a dipstick value; use neg, trace, 1+, 2+, 3+, 4+ (or 0, 0.5, 1 … 4)",
        ),
        ("measurements", 9, "value", "error", "'0.5' is not 0 or 1"),
        ("measurements", 10, "unit", "warning", "edema has no unit; 'cm' is ignored"),
        (
            "measurements",
            11,
            "value",
            "error",
            "creatinine 1.200 umol/L is outside the plausible 5–2000 umol/L; it looks like "
            "mg/dL (1.2 mg/dL = 106 umol/L); if '.' separates thousands here, it is 1200 "
            "umol/L (plausible): write 1200",
        ),
        (
            "measurements",
            15,
            "value",
            "error",
            "creatinine 10000000000000000000 umol/L is outside the plausible 5–2000 umol/L",
        ),
    ]
    # The pairs' helper table is gone once the check is done.
    assert not engine.con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = '_srnskit_pairs'"
    ).fetchall()


def test_the_pairs_kept_for_the_load(engine) -> None:
    # One more albumin g/L row without a value (row 16): a pair counts its rows, valued or not.
    engine.con.execute(
        "INSERT INTO cells_measurements (patient_id, date, analyte, unit) "
        "VALUES ('P2', '2013-02-02', 'albumin', 'g/L')"
    )
    check_measurements(engine, keep_pairs=True)
    pairs = {(p["analyte_text"], p["unit_text"]): p for p in kept_unit_pairs(engine)}
    # By hand from COHORT's measurements: albumin g/L on rows 2, 3 and 16; creatinine umol/L
    # on rows 4, 11 and 15, and in µmol/L (its own spelling) on row 5; mg/dL on row 12.
    assert {
        k: (p["rows"], p["analyte"], p["factor"], p["canonical"]) for k, p in pairs.items()
    } == {
        ("albumin", "g/L"): (3, "albumin", 1.0, "g/L"),
        ("creatinine", "umol/L"): (3, "creatinine", 1.0, "umol/L"),
        ("creatinine", "µmol/L"): (1, "creatinine", 1.0, "umol/L"),
        ("creatinine", "mmol/L"): (1, "creatinine", None, None),
        ("albumin", None): (1, "albumin", None, None),
        ("dipstick", None): (2, "dipstick", None, None),
        ("edema", None): (1, "edema", None, None),
        ("Edema", "cm"): (1, "edema", None, None),
        ("creatinine", "mg/dL"): (1, "creatinine", 88.4, "umol/L"),
        ("sbp", "mmHg"): (1, "sbp", 1.0, "mmHg"),
    }
    # Read once, then gone.
    assert not engine.con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = '_srnskit_pairs'"
    ).fetchall()


def test_impossible_dates_with_the_spans_the_link_checks_kept(engine) -> None:
    check_patient_links(engine, COHORT_TABLES["measurements"], TODAY)
    # P6's latest measurement text (1995-01-01) sorts after 1960-01-01 + 30 years: a suspect
    # found in the kept spans, then judged on its rows. 1960-01-01 → 1990-01-01 is 10,958 days
    # (30.0 years of 365.25 days), → 1995-01-01 12,784 days (35.0).
    problems = check_impossible_dates(engine, {"patients", "measurements", "treatments"}, TODAY)
    assert _found(problems) == [
        (
            "patients",
            7,
            "birth_date",
            "error",
            "birth_date 1712-04-01 is before 1900; no child in a cohort was born or treated "
            "before 1900: is the year mistyped?",
        ),
        (
            "patients",
            8,
            "onset_date",
            "error",
            "onset (1990-01-01) is 30 years after birth (1960-01-01); nephrotic syndrome "
            "beginning after age 25 is not in a childhood cohort: is the year of birth or of "
            "onset mistyped?",
        ),
        (
            "measurements",
            14,
            "date",
            "error",
            "date 1995-01-01 is 35 years after the patient's birth (1960-01-01), more than 30: "
            "is the year of the measurement or of birth mistyped?",
        ),
    ]
    drop_patient_spans(engine, "measurements")
    assert not engine.con.execute(
        f"SELECT 1 FROM duckdb_tables() WHERE table_name = '{spans_table('measurements')}'"
    ).fetchall()


def test_a_valid_cohort_has_no_problem_in_these_checks(engine) -> None:
    # Only the control rows kept: each table's rows that break no rule above.
    con = engine.con
    con.execute("DELETE FROM cells_patients WHERE patient_id NOT IN ('P2', 'P4')")
    con.execute("UPDATE cells_patients SET biopsy_date = NULL, genetic_variant = NULL")
    con.execute("DELETE FROM cells_measurements WHERE value NOT IN ('<0.5', 'trace')")
    con.execute("DELETE FROM cells_treatments")
    assert check_patients(engine, TODAY) == []
    assert check_patient_links(engine, COHORT_TABLES["measurements"], TODAY) == []
    assert check_measurements(engine) == []
    assert check_treatments(engine) == []


def test_a_bound_in_a_unit_that_converts_is_told_as_written_and_in_the_ranges_unit() -> None:
    # 80000 mg/g is 80 mg/mg (1 mg/mg = 1000 mg/g), above UPCR's plausible 0–60 mg/mg; the
    # cell's '>' is kept in both
    assert implausible_value_message("upcr", 80000.0, "mg/g", ">80000") == (
        "upcr >80000 mg/g (>80 mg/mg) is outside the plausible 0–60 mg/mg"
    )
    # a unit that is its range's own: shown once
    assert implausible_value_message("albumin", 95.0, "g/L") == (
        "albumin 95 g/L is outside the plausible 5–60 g/L"
    )


def test_a_converted_value_is_never_shown_on_its_ranges_bound_nor_with_an_exponent() -> None:
    # 22.63 mg/dL × 88.4 = 2000.492 umol/L: three digits (2000) would sit on the bound
    assert implausible_value_message("creatinine", 22.63, "mg/dL") == (
        "creatinine 22.63 mg/dL (2000.5 umol/L) is outside the plausible 5–2000 umol/L; "
        "it looks like umol/L"
    )
    # 0.05 g = 0.00005 kg, written as the format writes numbers (no 5e-05)
    assert implausible_value_message("weight", 0.05, "g") == (
        "weight 0.05 g (0.00005 kg) is outside the plausible 1–200 kg"
    )
