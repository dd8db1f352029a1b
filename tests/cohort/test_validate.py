"""Every validation rule, each triggered by its own small cohort in tests/data/invalid/.

The expected lines are the exact output a user sees (cohort-format.md §1): table, row as in
the CSV (header = row 1), column, severity and message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA

INVALID = DATA / "invalid"
DRUGS = (
    "prednisone, prednisolone, methylprednisolone, cyclosporine, tacrolimus, mmf, rituximab, "
    "cyclophosphamide, levamisole, acei, arb"
)

CASES = {
    "missing_patients_table": [
        f"patients:-:-: error: no patients table in {INVALID / 'missing_patients_table'} "
        "(it is required)"
    ],
    "missing_required_column": [
        "patients:-:birth_date: error: the required column 'birth_date' is missing (date of birth)"
    ],
    "misspelt_column": [
        "patients:-:birth_date: error: the required column 'birth_date' is missing (date of birth)",
        "patients:-:birthdate: warning: 'birthdate' is not a column of patients; it is kept and "
        "passed through unchecked (did you mean 'birth_date'?)",
    ],
    "empty_required_cell": ["patients:2:birth_date: error: birth_date is empty; it is required"],
    "date_day_month_year": [
        # 14 cannot be a month: only the day-first reading exists.
        "patients:4:onset_date: error: 1 date is written with the year last ('14/03/2019' on "
        "row 4); srnskit reads YYYY-MM-DD and does not guess the order: '14/03/2019' is "
        "2019-03-14 read day-first (--date-order dmy); write YYYY-MM-DD, or give --date-order"
    ],
    "date_no_such_day": [
        "patients:4:onset_date: error: '2014-02-30' is not a valid date (no such day)"
    ],
    "number_decimal_comma": [
        # 1,5 has no thousands reading; 1.5 g/dL × 10 = 15 g/L is within 5–60 g/L.
        "measurements:2:value: error: '1,5' is not a number: it reads as 1.5 g/dL with a "
        "decimal comma (plausible for albumin); write 1.5"
    ],
    "bool_unreadable": [
        "patients:2:family_history: error: 'maybe' is not true or false "
        "(also accepted: yes/no, 1/0)"
    ],
    "drug_near_miss": [
        "treatments:2:drug: error: 'Cyclosporin' is not an allowed drug "
        f"(did you mean 'cyclosporine'?); allowed: {DRUGS}",
        # a brand is no near spelling: suggested from the drugs' other names, never read as one
        "treatments:3:drug: error: 'CellCept' is not an allowed drug "
        f"(did you mean 'mmf'?); allowed: {DRUGS}",
        "treatments:4:drug: error: 'Medrol' is not an allowed drug "
        f"(did you mean 'methylprednisolone'?); allowed: {DRUGS}",
        # mycophenolate sodium is not mmf (720 mg match about 1000 mg of mofetil): no suggestion
        f"treatments:5:drug: error: 'Myfortic' is not an allowed drug; allowed: {DRUGS}",
    ],
    "sex_numeric_code": [
        "patients:2:sex: error: '1' is not F or M; numeric sex codes are not guessed"
    ],
    "unit_unknown": [
        "measurements:2:unit: error: 'mmol/L' is not a unit of creatinine; use one of umol/L, mg/dL"
    ],
    # 0.25 lies between two levels (neg 0, trace 0.5): no level of the scale (trace and 3
    # are); read, it made evidence 'dipstick=0.25' and stopped the FHIR export
    "dipstick_between_levels": [
        "measurements:3:value: error: '0.25' is not a dipstick value; use neg, trace, 1+, 2+, "
        "3+, 4+ (or 0, 0.5, 1 … 4)"
    ],
    "unit_missing": ["measurements:2:unit: error: creatinine needs a unit: umol/L, mg/dL"],
    "value_out_of_range": [
        "measurements:2:value: error: albumin 95 g/L is outside the plausible 5–60 g/L"
    ],
    # 0.6 × 88.4 = 53.04 umol/L is plausible; 65 / 88.4 would be plausible only as umol/L;
    # 1.37 m × 100 = 137 cm.
    "unit_mix_ups": [
        "measurements:2:value: error: creatinine 0.6 umol/L is outside the plausible "
        "5–2000 umol/L; it looks like mg/dL (0.6 mg/dL = 53 umol/L)",
        "measurements:3:value: error: creatinine 65 mg/dL (5750 umol/L) is outside the plausible "
        "5–2000 umol/L; it looks like umol/L",
        "measurements:4:value: error: height 1.37 cm is outside the plausible 30–220 cm; "
        "it looks like m (1.37 m = 137 cm)",
        # 850 is plausible as mg/mmol (0–6800) and as mg/g (850 / 1000 = 0.85 mg/mg, in
        # 0–60): two readings on either side of the nephrotic threshold, both named
        "measurements:5:value: error: upcr 850 mg/mg is outside the plausible 0–60 mg/mg; "
        "it looks like mg/mmol or mg/g (850 mg/g = 0.85 mg/mg)",
    ],
    "dipstick_unreadable": [
        "measurements:2:value: error: '5+' is not a dipstick value; use neg, trace, 1+, 2+, "
        "3+, 4+ (or 0, 0.5, 1 … 4)"
    ],
    "patient_unknown": [
        "measurements:2:patient_id: error: patient 'P9' is not in the patients table"
    ],
    "patient_id_duplicate": [
        "patients:4:patient_id: error: patient_id 'P1' appears again (first on row 2); "
        "it must be unique",
        "patients:4:-: warning: the row repeats row 2 exactly",
    ],
    "onset_before_birth": [
        "patients:2:onset_date: error: onset (2009-01-01) is before birth (2010-01-01); "
        "is one of the dates mistyped?"
    ],
    "end_before_start": [
        "treatments:2:end_date: error: end_date 2014-01-01 is before start_date 2014-02-01"
    ],
    "date_in_future": [
        "measurements:2:date: error: date 2021-01-01 is in the future (today is 2020-01-01)"
    ],
    "measurement_before_birth": [
        "measurements:2:date: error: date 2009-06-01 is before the patient's birth (2010-01-01)"
    ],
    "duplicate_row": ["measurements:3:-: warning: the row repeats row 2 exactly"],
    "file_empty": ["measurements:-:-: error: measurements.csv is empty (not even a header row)"],
    "header_only": ["patients:-:-: error: the table has a header but no rows"],
    "semicolon_separator": [
        "patients:-:-: error: the file uses ';' as separator; srnskit expects ','"
    ],
    "not_utf8": [
        "patients:4:-: error: patients.csv is not UTF-8 (byte 0xC9 on line 4); save it as "
        "'CSV UTF-8' (in Excel: Save As > CSV UTF-8)"
    ],
    "row_field_count": ["patients:4:-: error: the row has 5 fields; the header has 4"],
    "dose_without_unit": [
        "treatments:2:dose_unit: error: a dose needs a dose_unit: mg/day, mg/m2/day, "
        "mg/kg/day, mg, mg/m2, mg/kg"
    ],
    "grade_out_of_range": ["adverse_events:2:grade: error: grade 7 must be between 1 and 5"],
    "grade_not_whole": ["adverse_events:2:grade: error: '2.5' is not a whole number"],
    "unknown_table_file": [
        "measurements:-:-: error: measurement.csv is not read: the measurements table must be "
        "named 'measurements.csv'; rename it"
    ],
    "format_version": [
        "cohort.toml:-:format_version: error: format_version 3 is not supported; this srnskit "
        "reads versions 1 and 2"
    ],
    "variant_without_testing": [
        "patients:2:genetic_variant: warning: a genetic_variant is given but genetic_testing "
        "is false"
    ],
}


def test_every_invalid_folder_has_a_case() -> None:
    assert sorted(p.name for p in INVALID.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_reports_the_exact_problem(cli, name: str) -> None:
    result = cli("validate", INVALID / name, "--today", "2020-01-01")
    assert result.stdout.splitlines() == CASES[name]
    has_error = any(": error: " in line for line in CASES[name])
    assert result.exit_code == (1 if has_error else 0)


@pytest.mark.parametrize("name", ["bom", "crlf", "aliases"])
def test_validate_accepts_bom_crlf_and_accepted_spellings(cli, data: Path, name: str) -> None:
    result = cli("validate", data / "valid" / name, "--today", "2020-01-01")
    assert result.stdout == ""
    assert result.exit_code == 0
    assert "valid: 0 error(s), 0 warning(s)" in result.stderr


def test_validate_reports_every_bad_row_in_one_pass(cli, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,X,2010-01-01,2014-01-01\n"
        "P2,M,2011-13-01,2015-06-06\nP3,F,2012-01-01,\n"
    )
    result = cli("validate", tmp_path, "--today", "2020-01-01")
    assert result.stdout.splitlines() == [
        "patients:2:sex: error: 'X' is not an allowed sex; allowed: F, M",
        "patients:3:birth_date: error: '2011-13-01' is not a valid date (no such day)",
        "patients:4:onset_date: error: onset_date is empty; it is required",
    ]
    assert result.exit_code == 1


def test_validate_json_lists_problems_as_records(cli) -> None:
    import json

    result = cli("validate", INVALID / "unit_unknown", "--json", "--today", "2020-01-01")
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert (report["errors"], report["warnings"]) == (1, 0)
    assert report["problems"] == [
        {
            "table": "measurements",
            "row": 2,
            "column": "unit",
            "message": "'mmol/L' is not a unit of creatinine; use one of umol/L, mg/dL",
            "severity": "error",
        }
    ]
    assert result.exit_code == 1


def test_validate_exits_2_for_a_path_that_does_not_exist(cli, tmp_path: Path) -> None:
    result = cli("validate", tmp_path / "nowhere")
    assert result.exit_code == 2


def test_validate_exits_2_for_a_file_that_is_not_a_cohort(cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = cli("validate", notes)
    assert result.exit_code == 2
    assert "not a cohort" in result.stderr


def test_validate_flags_a_date_after_today_only_relative_to_the_given_today(cli) -> None:
    later = cli("validate", INVALID / "date_in_future", "--today", "2021-01-01")
    assert later.exit_code == 0


def test_the_example_cohort_is_valid(cli, small_cohort: Path) -> None:
    result = cli("validate", small_cohort)
    assert result.exit_code == 0
    assert result.stdout == ""


def test_a_folder_with_no_table_says_none_was_read(cli, tmp_path: Path) -> None:
    # The summary's counts of rows read are left out when no table was read, not "()".
    (tmp_path / "notes.txt").write_text("minutes of the meeting\n")
    result = cli("validate", tmp_path, "--today", "2020-01-01")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        f"{tmp_path}: NOT valid: 1 error(s), 0 warning(s) (no table read)"
    )
