"""Loading converts every analyte to its canonical unit, and UPCR only within its family."""

from __future__ import annotations

import datetime as dt

import pytest

from srnskit.cohort import read_cohort

TODAY = dt.date(2026, 11, 28)


def test_values_are_converted_to_canonical_units(data) -> None:
    cohort = read_cohort(data / "valid" / "aliases", today=TODAY)
    rows = cohort.con.execute(
        "SELECT analyte, value, unit FROM measurements ORDER BY source_row"
    ).fetchall()
    expected = [
        ("creatinine", 30.0, "umol/L"),  # µmol/L is umol/L
        ("upcr", 0.5, "mg/mg"),  # 500 mg/g / 1000 = 0.5 mg/mg (mass/mass family)
        ("dipstick", 0.5, None),  # 'Trace' = 0.5, no unit
        ("height", 105.0, "cm"),  # 1.05 m × 100
        ("weight", 18.5, "kg"),  # 18500 g / 1000
        ("albumin", 21.0, "g/L"),  # 2.1 g/dL × 10
        ("upcr", 350.0, "mg/mmol"),  # 0.35 g/mmol × 1000 (mass/mol family, not converted)
    ]
    assert [(a, pytest.approx(v), u) for a, v, u in rows] == expected


def test_accepted_spellings_load_as_canonical_values(data) -> None:
    cohort = read_cohort(data / "valid" / "aliases", today=TODAY)
    patients = cohort.con.execute(
        "SELECT patient_id, sex, onset_date, family_history, center_id FROM patients ORDER BY 1"
    ).fetchall()
    assert patients == [
        ("P1", "F", dt.date(2014, 1, 1), True, "default"),  # 'female', date-time truncated
        ("P2", "M", dt.date(2015, 6, 6), False, "default"),  # 'm', '0'
    ]
    treatment = cohort.con.execute("SELECT drug, end_date, schedule FROM treatments").fetchall()
    assert treatment == [("cyclosporine", None, "daily")]  # 'Cyclosporine'; schedule defaults


def test_mg_dl_creatinine_becomes_umol_l(small_cohort) -> None:
    cohort = read_cohort(small_cohort, today=TODAY)
    # P04's first creatinine is 0.45 mg/dL: 0.45 × 88.4 = 39.78 umol/L.
    first = cohort.con.execute(
        "SELECT value, unit FROM measurements WHERE patient_id = 'P04' "
        "AND analyte = 'creatinine' ORDER BY date LIMIT 1"
    ).fetchone()
    assert first == (pytest.approx(39.78), "umol/L")


def test_missing_tables_are_empty_tables_with_declared_columns(data) -> None:
    cohort = read_cohort(data / "valid" / "bom", today=TODAY)
    assert cohort.to_arrow("events").shape == (0, 3)
    assert cohort.to_arrow("events").column_names == ["patient_id", "date", "event"]


def test_center_id_defaults_to_the_cohort_setting(tmp_path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,center_id,sex,birth_date,onset_date\nP1,,F,2010-01-01,2014-01-01\n"
        "P2,B,M,2011-01-01,2015-01-01\n"
    )
    (tmp_path / "cohort.toml").write_text('name = "x"\ncenter_id = "tunis"\n')
    cohort = read_cohort(tmp_path, today=TODAY)
    centres = cohort.con.execute("SELECT center_id FROM patients ORDER BY patient_id").fetchall()
    assert centres == [("tunis",), ("B",)]
    assert cohort.name == "x"


def test_each_row_finds_its_analyte_and_unit_pair_in_file_order(tmp_path) -> None:
    # Two spellings of creatinine, each in two units, and the dipstick without one, interleaved:
    # the load finds each row's (analyte, unit) pair by its analyte text, then its unit text
    # among that analyte's, and keeps the file's order. By hand: 1 mg/dL × 88.4 = 88.4 µmol/L;
    # 0.5 mg/dL × 88.4 = 44.2; µmol/L and umol/L are the canonical unit; 'Trace' is 0.5.
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2014-01-01\n"
    )
    (tmp_path / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n"
        "P1,2014-01-02,creatinine,1,mg/dL\n"
        "P1,2014-01-02,dipstick,Trace,\n"
        "P1,2014-01-03,Creatinine,40,µmol/L\n"
        "P1,2014-01-03,creatinine,41,umol/L\n"
        "P1,2014-01-04,Creatinine,0.5,mg/dL\n"
        "P1,2014-01-04,Dipstick,3+,\n"
        "P1,2014-01-05,creatinine,1,mg/dL\n"
    )
    cohort = read_cohort(tmp_path, today=TODAY)
    rows = cohort.con.execute(
        "SELECT analyte, value, unit, source_row FROM measurements"
    ).fetchall()
    assert [(a, pytest.approx(v), u, r) for a, v, u, r in rows] == [
        ("creatinine", 88.4, "umol/L", 2),
        ("dipstick", 0.5, None, 3),
        ("creatinine", 40.0, "umol/L", 4),
        ("creatinine", 41.0, "umol/L", 5),
        ("creatinine", 44.2, "umol/L", 6),
        ("dipstick", 3.0, None, 7),
        ("creatinine", 88.4, "umol/L", 8),
    ]


@pytest.mark.parametrize("name", ["__srnskit_pair", "__srnskit_row", "__srnskit_decimals"])
def test_a_column_named_like_a_working_column_is_left_out_with_a_warning(tmp_path, name) -> None:
    # A reviewer's file: an extra column named as one of the load's own working columns made
    # the load fail (the pair's) or vanish while the warning said it was kept (the others').
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2014-01-01\n"
    )
    (tmp_path / "measurements.csv").write_text(
        f"patient_id,date,analyte,value,unit,{name}\n"
        "P1,2014-01-02,creatinine,1,mg/dL,x\nP1,2014-01-03,albumin,2,g/dL,y\n"
    )
    cohort = read_cohort(tmp_path, today=TODAY)
    rows = cohort.con.execute("SELECT * FROM measurements").fetchall()
    # 1 mg/dL × 88.4 = 88.4 µmol/L; 2 g/dL × 10 = 20 g/L; the column is not loaded.
    assert [(r[2], pytest.approx(r[3]), r[4], r[6]) for r in rows] == [
        ("creatinine", 88.4, "umol/L", 2),
        ("albumin", 20.0, "g/L", 3),
    ]
    assert len(rows[0]) == 7
    (warning,) = [w for w in cohort.warnings if w.column == name]
    assert "srnskit keeps for its own working columns: the column is left out" in warning.message


def test_a_load_broken_off_leaves_no_database_open(data, monkeypatch) -> None:
    # A load that stops mid-way (a Ctrl-C, memory running out) closes its database and the
    # kept pairs with it, as a cohort refused by validation does.
    import srnskit.cohort.load as load

    opened = []

    def connect():
        opened.append(real_connect())
        return opened[-1]

    def broken(con, raw):
        raise KeyboardInterrupt

    real_connect = load.connect
    monkeypatch.setattr(load, "connect", connect)
    monkeypatch.setattr(load, "_load_canonical", broken)
    with pytest.raises(KeyboardInterrupt):
        read_cohort(data / "valid" / "aliases", today=TODAY)
    (con,) = opened
    with pytest.raises(Exception, match="closed"):
        con.execute("SELECT 1")
