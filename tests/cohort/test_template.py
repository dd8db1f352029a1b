"""The template workbook: every table and column, drop-down lists, explanations; readable back."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook

from srnskit.cohort import read_cohort
from srnskit.schema import COHORT_TABLES

TODAY = dt.date(2026, 11, 28)


def test_template_has_every_sheet_and_column(cli, tmp_path) -> None:
    out = tmp_path / "cohort.xlsx"
    result = cli("template", "--out", out)
    assert result.exit_code == 0
    workbook = load_workbook(out)
    assert set(COHORT_TABLES) <= set(workbook.sheetnames)
    assert {"about", "columns", "units"} <= set(workbook.sheetnames)
    for name, table in COHORT_TABLES.items():
        header = [c.value for c in workbook[name][1]]
        assert header == list(table.column_names)


def test_template_offers_drop_down_lists_for_coded_columns(cli, tmp_path) -> None:
    out = tmp_path / "cohort.xlsx"
    cli("template", "--out", out)
    workbook = load_workbook(out)
    treatments = workbook["treatments"]
    # drug is column B of treatments; its list is the drug list of the hidden 'lists' sheet.
    by_area = {str(v.sqref): v.formula1 for v in treatments.data_validations.dataValidation}
    drug_range = by_area["B2:B100000"].removeprefix("=")
    sheet, cells = drug_range.split("!")
    first, last = (c.replace("$", "") for c in cells.split(":"))
    drugs = [c.value for row in workbook[sheet][first:last] for c in row]
    assert drugs == list(COHORT_TABLES["treatments"].column("drug").allowed)
    columns_sheet = [r for r in workbook["columns"].iter_rows(values_only=True)]
    # The accepted synonyms are listed too; f and m are F and M to Excel's case-blind list.
    assert columns_sheet[3][:5] == ("patients", "sex", "yes", "enum", "F, M, female, male")


def test_a_filled_template_validates_and_loads(cli, tmp_path) -> None:
    out = tmp_path / "cohort.xlsx"
    cli("template", "--out", out)
    workbook = load_workbook(out)
    workbook["patients"].append(["P1", None, "F", dt.date(2010, 1, 1), dt.date(2014, 1, 1)])
    workbook["measurements"].append(["P1", dt.date(2014, 1, 2), "albumin", 18, "g/L"])
    workbook.save(out)
    cohort = read_cohort(out, today=TODAY)
    assert cohort.con.execute("SELECT patient_id, sex FROM patients").fetchall() == [("P1", "F")]
    assert cohort.to_arrow("measurements").num_rows == 1


def test_an_empty_template_says_patients_has_no_rows(cli, tmp_path) -> None:
    out = tmp_path / "cohort.xlsx"
    cli("template", "--out", out)
    result = cli("validate", out)
    assert "patients:-:-: error: the table has a header but no rows" in result.stdout
    assert result.exit_code == 1


def test_template_refuses_to_overwrite_without_force(cli, tmp_path) -> None:
    out = tmp_path / "cohort.xlsx"
    out.write_text("keep me")
    result = cli("template", "--out", out)
    assert result.exit_code == 2
    assert out.read_text() == "keep me"
    assert cli("template", "--out", out, "--force").exit_code == 0


def test_template_lists_warn_units_follow_the_analyte_and_dates_are_checked(cli, tmp_path) -> None:
    out = tmp_path / "cohort.xlsx"
    cli("template", "--out", out)
    workbook = load_workbook(out)
    measurements = {
        str(v.sqref): v for v in workbook["measurements"].data_validations.dataValidation
    }
    analyte, unit, date = measurements["C2:C100000"], measurements["E2:E100000"], None
    assert (analyte.errorStyle, analyte.error.split(";")[0]) == (
        "warning",
        "Pick an analyte from the list, or keep this value if you are sure",
    )
    assert unit.formula1 == '=INDIRECT("units_"&$C2)'
    names = workbook.defined_names
    sheet, cells = names["units_creatinine"].attr_text.split("!")
    first, last = (c.replace("$", "") for c in cells.split(":"))
    assert [c.value for row in workbook[sheet][first:last] for c in row] == ["umol/L", "mg/dL"]
    date = measurements["B2:B100000"]
    assert (date.type, date.formula1, date.formula2) == (
        "date",
        "DATE(1900,1,1)",
        "DATE(2100,12,31)",
    )
    patients = {str(v.sqref): v for v in workbook["patients"].data_validations.dataValidation}
    family_history = patients["F2:F100000"].formula1.removeprefix("=")
    sheet, cells = family_history.split("!")
    first, last = (c.replace("$", "") for c in cells.split(":"))
    assert [c.value for row in workbook[sheet][first:last] for c in row] == [
        "true",
        "false",
        "yes",
        "no",
    ]
    units_sheet = {r[0]: r for r in workbook["units"].iter_rows(values_only=True)}
    assert "+, ++, +++, ++++" in units_sheet["dipstick"][3]
    assert units_sheet["tac_trough"][1:3] == ("ng/mL", "0–100 ng/mL")
