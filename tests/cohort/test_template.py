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
    drug_range = by_area["B2:B5000"].removeprefix("=")
    sheet, cells = drug_range.split("!")
    first, last = (c.replace("$", "") for c in cells.split(":"))
    drugs = [c.value for row in workbook[sheet][first:last] for c in row]
    assert drugs == list(COHORT_TABLES["treatments"].column("drug").allowed)
    columns_sheet = [r for r in workbook["columns"].iter_rows(values_only=True)]
    assert columns_sheet[3][:5] == ("patients", "sex", "yes", "enum", "F, M")


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
