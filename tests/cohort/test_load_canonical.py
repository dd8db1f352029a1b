"""The canonical tables a hand-written raw cohort loads as (``read_cohort``), and the same
tables from ``canonical_table``, the one Ibis expression per table every engine compiles.
Each expected value is worked by hand from the cells below and cohort-format.md §2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from srnskit.cohort import read_cohort
from srnskit.cohort.expressions import run
from srnskit.cohort.load import canonical_table
from srnskit.cohort.parse import connect
from srnskit.cohort.validate import register_raw_tables
from srnskit.sources.files import read_raw_cohort

TODAY = dt.date(2026, 12, 1)

PATIENTS = (
    "patient_id,center_id,sex,birth_date,onset_date,family_history,histology\n"
    "H1,,female,2012-03-04,2016-05-01,yes,fsgs\n"  # no centre; sex and histology other spellings
    "H2,north,M,2011-01-02,2015-06-07T10:30,N,\n"  # a date-time read as its date
)
MEASUREMENTS = (
    "patient_id,date,analyte,value,unit,qualifier,note,name\n"
    "H1,2016-05-01,creatinine,2.1,mg/dL,,fasting,Ann\n"
    "H1,2016-05-01,dipstick,2+,,,,\n"
    "H1,2016-05-02,upcr,<0.1,g/g,,,\n"
    "H2,2015-06-07,Albumin,18,g/L,,,\n"
)
TREATMENTS = (
    "patient_id,drug,start_date,end_date,dose,dose_unit,schedule\n"
    "H1,Prednisolone,2016-05-01,2016-06-12,60,mg/m2/day,\n"  # no schedule: daily
    "H2,tacrolimus,2015-07-01,,0.15,mg/kg/day,daily\n"
)
ADVERSE_EVENTS = "patient_id,date,event,drug,grade\nH2,2015-08-01,hypertension,tacrolimus,2\n"


def _cohort(folder: Path) -> Path:
    folder.mkdir()
    (folder / "patients.csv").write_text(PATIENTS)
    (folder / "measurements.csv").write_text(MEASUREMENTS)
    (folder / "treatments.csv").write_text(TREATMENTS)
    (folder / "adverse_events.csv").write_text(ADVERSE_EVENTS)
    return folder


# By hand: 2.1 mg/dL × 88.4 = 176.8 + 8.84 = 185.64 µmol/L (in doubles 185.64000000000001,
# which 12 significant digits take back to 185.64); '2+' is dipstick level 2, without a unit;
# '<0.1' g/g is 0.1 with the qualifier '<', g/g an alias of mg/mg (factor 1); 18 g/L stays.
EXPECTED_MEASUREMENTS = [
    ("H1", dt.date(2016, 5, 1), "creatinine", 185.64, "umol/L", None, 2, "fasting"),
    ("H1", dt.date(2016, 5, 1), "dipstick", 2.0, None, None, 3, None),
    ("H1", dt.date(2016, 5, 2), "upcr", 0.1, "mg/mg", "<", 4, None),
    ("H2", dt.date(2015, 6, 7), "albumin", 18.0, "g/L", None, 5, None),
]


def test_a_hand_written_cohort_loads_as_worked_by_hand(tmp_path: Path) -> None:
    assert 2.1 * 88.4 != 185.64  # the unrounded conversion carries binary noise
    with read_cohort(_cohort(tmp_path / "hand"), today=TODAY) as cohort:
        con = cohort.con
        patients = con.execute(
            "SELECT patient_id, center_id, sex, birth_date, onset_date, family_history, "
            "histology, genetic_testing FROM patients ORDER BY patient_id"
        ).fetchall()
        measurements = con.execute("SELECT * FROM measurements ORDER BY source_row").fetchall()
        columns = [d[0] for d in con.execute("SELECT * FROM measurements LIMIT 0").description]
        treatments = con.execute("SELECT * FROM treatments").fetchall()
        events = con.execute("SELECT * FROM adverse_events").fetchall()
        grade_type = con.execute("SELECT typeof(grade) FROM adverse_events").fetchone()
        empty = con.execute("SELECT count(*) FROM events").fetchone()
    # H1 has no centre and the cohort no cohort.toml: 'default' (cohort-format.md §2);
    # 'female' is an alias of F, 'yes' is true, 'fsgs' is FSGS.
    assert patients == [
        ("H1", "default", "F", dt.date(2012, 3, 4), dt.date(2016, 5, 1), True, "FSGS", None),
        ("H2", "north", "M", dt.date(2011, 1, 2), dt.date(2015, 6, 7), False, None, None),
    ]
    # 'name' is named like a direct identifier: never loaded; 'note' passes through as text.
    assert columns == [
        "patient_id",
        "date",
        "analyte",
        "value",
        "unit",
        "qualifier",
        "source_row",
        "note",
    ]
    assert measurements == EXPECTED_MEASUREMENTS
    assert treatments == [
        (
            "H1",
            "prednisolone",
            dt.date(2016, 5, 1),
            dt.date(2016, 6, 12),
            60.0,
            "mg/m2/day",
            "daily",
        ),
        ("H2", "tacrolimus", dt.date(2015, 7, 1), None, 0.15, "mg/kg/day", "daily"),
    ]
    assert events == [("H2", dt.date(2015, 8, 1), "hypertension", "tacrolimus", 2)]
    assert grade_type == ("INTEGER",)
    assert empty == (0,)


def test_canonical_table_is_the_loaded_table(tmp_path: Path) -> None:
    # The public expression, run on validation's raw tables, gives the rows the load keeps.
    raw = read_raw_cohort(_cohort(tmp_path / "hand"))
    con: duckdb.DuckDBPyConnection = connect()
    try:
        register_raw_tables(con, raw)
        columns = raw.tables["measurements"].columns
        expr = canonical_table(con, "measurements", columns, raw.center_id)
        rows = sorted(run(con, expr), key=lambda r: r["source_row"])
        patients = canonical_table(con, "patients", raw.tables["patients"].columns, "south")
        centres = {r["patient_id"]: r["center_id"] for r in run(con, patients)}
        events = canonical_table(con, "adverse_events", raw.tables["adverse_events"].columns, None)
        grade = events.schema()["grade"]
    finally:
        con.close()
    assert [tuple(r.values()) for r in rows] == EXPECTED_MEASUREMENTS
    # A centre given for the cohort (cohort.toml's center_id) fills a missing one.
    assert centres == {"H1": "south", "H2": "north"}
    assert str(grade) == "int32"
