"""``srnskit redcap dictionary``: REDCap's 18 columns as REDCap spells them, every column of the
cohort format as a field, the format's values as choices, validation from the schema."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from srnskit.schema import ANALYTES, COHORT_TABLES
from srnskit.sources.redcap import build_dictionary, read_dictionary, redcap_mapping
from srnskit.sources.redcap.dictionary import Dictionary, Field

# The header row of a dictionary downloaded from REDCap (REDCap's validation suite,
# vanderbilt-redcap/redcap_rsvc Files/dictionaries/Project1xml_DataDictionary.csv), typed here
# from that file.
REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The dictionary as the command writes it, read back as CSV rows."""
    from typer.testing import CliRunner

    from srnskit.cli import app

    out = tmp_path_factory.mktemp("dictionary") / "srnskit_dictionary.csv"
    result = CliRunner().invoke(app, ["redcap", "dictionary", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert next(reader) == REDCAP_HEADER
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _row(rows: list[dict[str, str]], name: str) -> dict[str, str]:
    (row,) = [r for r in rows if r["Variable / Field Name"] == name]
    return row


def test_the_file_has_redcaps_18_columns_on_every_row(written: list[dict[str, str]]) -> None:
    assert all(len(row) == 18 and None not in row for row in written)


def test_the_record_id_is_the_first_field_of_the_patient_instrument(
    written: list[dict[str, str]],
) -> None:
    first = written[0]
    assert (first["Variable / Field Name"], first["Form Name"], first["Field Type"]) == (
        "patient_id",
        "patient",
        "text",
    )
    # instruments in the format's order, each one block of rows
    forms = [row["Form Name"] for row in written]
    blocks = [form for i, form in enumerate(forms) if i == 0 or forms[i - 1] != form]
    assert blocks == ["patient", "measurements", "treatments", "adverse_events", "events"]


def test_every_column_and_analyte_of_the_format_has_a_field(
    written: list[dict[str, str]],
) -> None:
    annotations = {row["Field Annotation"] for row in written}
    for table in COHORT_TABLES.values():
        for column in table.columns:
            if table.name == "measurements" and column.name != "date":
                continue  # analyte, value, unit, qualifier: one field per analyte (below)
            if column.name == "patient_id" and table.name != "patients":
                continue  # the record ID
            assert f"srnskit cohort format: {table.name}.{column.name}" in annotations
    for analyte in ANALYTES.values():
        row = _row(written, analyte.name)
        assert row["Form Name"] == "measurements"
        has_unit = any(r["Variable / Field Name"] == f"{analyte.name}_unit" for r in written)
        assert has_unit == (len(analyte.units) > 1), analyte.name


def test_field_names_are_valid_redcap_names_unique_and_short(
    written: list[dict[str, str]],
) -> None:
    names = [row["Variable / Field Name"] for row in written]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert len(name) <= 26, name
    # an instrument's name is not a field's (its status column is INSTRUMENT_complete)
    assert not {row["Form Name"] for row in written} & set(names)


def test_validation_types_and_bounds_come_from_the_schema(written: list[dict[str, str]]) -> None:
    def validation(name: str) -> tuple[str, str, str]:
        row = _row(written, name)
        return (
            row["Text Validation Type OR Show Slider Number"],
            row["Text Validation Min"],
            row["Text Validation Max"],
        )

    for name in ("birth_date", "onset_date", "biopsy_date", "meas_date", "trt_start_date",
                 "trt_end_date", "ae_date", "evt_date"):  # fmt: skip
        assert validation(name) == ("date_ymd", "", ""), name
    assert validation("ae_grade") == ("integer", "1", "5")  # CTCAE grade 1–5
    assert validation("trt_dose") == ("number", "0", "")
    # one unit: the plausible range of cohort-format.md §2 as REDCap's bounds
    assert validation("cystatin_c") == ("number", "0.2", "10")  # 0.2 – 10 mg/L
    assert validation("tac_trough") == ("number", "0", "100")  # 0 – 100 ng/mL
    assert validation("sbp") == ("number", "20", "250")  # 20 – 250 mmHg
    assert _row(written, "cystatin_c")["Field Note"] == "in mg/L"
    # several units: no bounds, the ranges in the note
    assert validation("upcr") == ("number", "", "")
    assert "0 to 60 mg/mg" in _row(written, "upcr")["Field Note"]
    assert "0 to 6800 mg/mmol" in _row(written, "upcr")["Field Note"]


def test_yes_no_fields_are_yesno(written: list[dict[str, str]]) -> None:
    yesno = {r["Variable / Field Name"] for r in written if r["Field Type"] == "yesno"}
    assert yesno == {"family_history", "genetic_testing", "edema"}


def test_the_choices_of_each_enum_are_the_schemas_values(written: list[dict[str, str]]) -> None:
    mapping = redcap_mapping()
    values_of = {code: value for value, code in mapping.codes.items()}
    for binding in mapping.bindings.values():
        if binding.part != "column" or binding.schema_column.kind != "enum":
            continue
        row = _row(written, binding.field)
        assert row["Field Type"] in ("radio", "dropdown")
        codes = [
            item.split(",")[0].strip()
            for item in row["Choices, Calculations, OR Slider Labels"].split("|")
        ]
        assert [values_of.get(c, c) for c in codes] == list(binding.schema_column.allowed)
        for code in codes:  # REDCap's raw values: letters, digits, underscores
            assert re.fullmatch(r"[A-Za-z0-9_]+", code), code
    assert _row(written, "sex")["Choices, Calculations, OR Slider Labels"] == "F, Female | M, Male"
    assert _row(written, "trt_dose_unit")["Choices, Calculations, OR Slider Labels"] == (
        "mg_day, mg/day | mg_m2_day, mg/m2/day | mg_kg_day, mg/kg/day | mg, mg | mg_m2, mg/m2 | "
        "mg_kg, mg/kg"
    )
    # the units of an analyte, and the dipstick's levels (neg, trace, 1+ … 4+)
    assert _row(written, "creatinine_unit")["Choices, Calculations, OR Slider Labels"] == (
        "umol_l, umol/L | mg_dl, mg/dL"
    )
    assert _row(written, "dipstick")["Choices, Calculations, OR Slider Labels"] == (
        "neg, neg | trace, trace (+/-) | 1, 1+ | 2, 2+ | 3, 3+ | 4, 4+"
    )


def test_required_identifier_and_branching_flags(written: list[dict[str, str]]) -> None:
    required = {r["Variable / Field Name"] for r in written if r["Required Field?"] == "y"}
    assert {"sex", "birth_date", "onset_date", "meas_date", "trt_drug", "trt_start_date",
            "ae_date", "ae_event", "evt_date", "evt_event", "trt_dose_unit",
            "upcr_unit"} <= required  # fmt: skip
    assert "genetic_variant" not in required
    identifiers = [r["Variable / Field Name"] for r in written if r["Identifier?"] == "y"]
    assert identifiers == ["birth_date"]
    assert _row(written, "upcr_unit")["Branching Logic (Show field only if...)"] == "[upcr] <> ''"
    assert _row(written, "trt_dose_unit")["Branching Logic (Show field only if...)"] == (
        "[trt_dose] <> ''"
    )


def test_the_dictionary_is_plain_ascii(tmp_path: Path) -> None:
    # A spreadsheet that guesses the encoding cannot garble it (± is written +/-).
    text = build_dictionary().csv_text()
    assert text.isascii()


def test_a_written_dictionary_reads_back_as_the_same_fields(tmp_path: Path) -> None:
    built = build_dictionary()
    path = tmp_path / "dd.csv"
    path.write_text(built.csv_text(), encoding="utf-8")
    again = read_dictionary(path)
    assert again.fields == built.fields
    # and the API's metadata shape carries the same fields
    assert [Field(**_attributes(row)) for row in built.metadata()] == list(built.fields)


def _attributes(row: dict[str, str]) -> dict[str, object]:
    from srnskit.sources.redcap.dictionary import DICTIONARY_COLUMNS

    flags = {"identifier", "required", "matrix_ranking"}
    return {a: (row[k] == "y" if a in flags else row[k]) for _, k, a in DICTIONARY_COLUMNS}


def test_a_file_without_redcaps_columns_is_not_a_dictionary(tmp_path: Path) -> None:
    from srnskit.errors import InvalidInputError

    path = tmp_path / "notes.csv"
    path.write_text("name,comment\nx,y\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="'Variable / Field Name'"):
        read_dictionary(path)


def test_checkbox_columns_and_label_headers_follow_redcaps_export_order() -> None:
    dictionary = Dictionary(
        (
            Field("record_id", "visit", "text", "Record ID"),
            Field("symptoms", "visit", "checkbox", "Symptoms", "1, Fever | 2, Cough"),
            Field("intro", "visit", "descriptive", "Please fill in"),
        ),
        "test",
    )
    columns = [(c.name, c.label) for c in dictionary.export_columns if c.field is not None]
    assert columns == [
        ("record_id", "Record ID"),
        ("symptoms___1", "Symptoms (choice=Fever)"),
        ("symptoms___2", "Symptoms (choice=Cough)"),
    ]
