"""An empty cohort workbook for a centre to fill in (``srnskit template``).

One sheet per table with its columns, drop-down lists for allowed values (kept in the sheet
``lists``), dates formatted as dates, and the sheets ``about``, ``columns`` and ``units`` that
explain every column and unit. The readers skip the explanatory sheets.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from srnskit.schema import ANALYTES, COHORT_TABLES, Column
from srnskit.schema.analytes import DIPSTICK_SPELLINGS
from srnskit.schema.tables import EARLIEST_DATE

__all__ = ["write_template"]

# The lists offer the accepted synonyms too (the reader takes them): a warning, never a refusal,
# for anything else, so a value pasted from elsewhere is kept for srnskit validate to explain.
_BOOL_VALUES = ("true", "false", "yes", "no")
_HEADER = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
_DATA_ROWS = 100_000  # drop-down lists and date checks reach this far down each sheet
_LATEST_YEAR = 2100  # the date check's upper end: a typo such as 2104, not a future visit

_ABOUT = (
    "srnskit cohort workbook",
    "",
    "Fill one sheet per table: patients (one row per child), measurements (one row per value), "
    "treatments (one row per drug course, or per rituximab infusion), adverse_events, events.",
    "Only patients is required; leave a sheet empty when there is nothing to record.",
    "Red headers are required columns. Dates as dates (YYYY-MM-DD). Pick coded values from "
    "the drop-down lists (they warn, and srnskit validate checks every cell). Dipstick "
    "readings: neg, trace (±), 1+ … 4+ (+ … ++++). A result beyond a laboratory limit: <0.1, "
    ">2000.",
    "The sheet 'columns' explains every column; 'units' lists each analyte's accepted units "
    "and plausible range.",
    "Check the workbook with:  srnskit validate this-file.xlsx",
    "Never put names, addresses or hospital numbers in a cohort: use study identifiers.",
)


def write_template(path: Path) -> None:
    """Write the empty cohort workbook to ``path`` (the caller makes the write atomic)."""
    workbook = Workbook()
    about = workbook.active
    assert about is not None
    about.title = "about"
    for line in _ABOUT:
        about.append([line])
    about.column_dimensions["A"].width = 120
    about["A1"].font = Font(bold=True, size=14)

    lists = workbook.create_sheet("lists")
    list_ranges = _write_lists(lists)
    for name, cells in list_ranges.items():
        if name.startswith("units_"):
            workbook.defined_names[name] = DefinedName(name, attr_text=cells)
    for table in COHORT_TABLES.values():
        sheet = workbook.create_sheet(table.name)
        _write_table_sheet(sheet, table.columns, list_ranges)
    _write_columns_sheet(workbook.create_sheet("columns"))
    _write_units_sheet(workbook.create_sheet("units"))
    lists.sheet_state = "hidden"
    workbook.save(path)


def _list_values(column: Column) -> tuple[str, ...]:
    if column.kind == "bool":
        return _BOOL_VALUES
    if column.kind == "enum":
        own = {v.lower() for v in column.allowed}
        return (*column.allowed, *(a for a in column.aliases if a not in own))
    return ()


def _write_lists(sheet: Worksheet) -> dict[str, str]:
    """Write each distinct list of allowed values in its own column; return name → range."""
    lists: dict[str, tuple[str, ...]] = {"bool": _BOOL_VALUES}
    for table in COHORT_TABLES.values():
        for column in table.columns:
            if column.kind == "enum":
                lists.setdefault(column.name, _list_values(column))
    lists["unit"] = tuple(dict.fromkeys(u.name for a in ANALYTES.values() for u in a.units))
    lists["dipstick"] = tuple(DIPSTICK_SPELLINGS)
    # One unit list per analyte, named units_<analyte>: the unit column's drop-down follows the
    # row's analyte (INDIRECT), so it offers only that analyte's units.
    for analyte in ANALYTES.values():
        if analyte.units:
            lists[f"units_{analyte.name}"] = tuple(u.name for u in analyte.units)
    ranges = {}
    for index, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index, value=name)
        for row, value in enumerate(values, start=2):
            sheet.cell(row=row, column=index, value=value)
        ranges[name] = f"lists!${letter}$2:${letter}${len(values) + 1}"
    return ranges


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _list_validation(column: Column, formula: str) -> DataValidation:
    name = column.name.replace("_", " ")
    return DataValidation(
        type="list",
        formula1=formula,
        allow_blank=not column.required,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle=f"Not a listed {name}",
        error=f"Pick {_article(name)} {name} from the list, or keep this value if you are sure; "
        "srnskit validate checks every cell.",
        promptTitle=column.name,
        prompt=column.description[:250],
        showInputMessage=True,
    )


def _date_validation(column: Column) -> DataValidation:
    return DataValidation(
        type="date",
        operator="between",
        formula1=f"DATE({EARLIEST_DATE.year},1,1)",
        formula2=f"DATE({_LATEST_YEAR},12,31)",
        allow_blank=not column.required,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Not a date",
        error=f"Enter a date (YYYY-MM-DD) between {EARLIEST_DATE.year} and {_LATEST_YEAR}.",
        promptTitle=column.name,
        prompt=column.description[:250],
        showInputMessage=True,
    )


def _write_table_sheet(
    sheet: Worksheet, columns: tuple[Column, ...], list_ranges: dict[str, str]
) -> None:
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font = _HEADER
        cell.fill = _REQUIRED_FILL if column.required else _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column.name) + 4)
        area = f"{letter}2:{letter}{_DATA_ROWS}"
        key = "bool" if column.kind == "bool" else column.name
        validation = None
        if column.name == "unit":
            position = [c.name for c in columns].index("analyte")
            analyte = get_column_letter(position + 1)
            validation = _list_validation(column, f'=INDIRECT("units_"&${analyte}2)')
        elif _list_values(column) and key in list_ranges:
            validation = _list_validation(column, f"={list_ranges[key]}")
        elif column.kind == "date":
            validation = _date_validation(column)
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
        if validation is not None:
            validation.add(area)
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"


def _write_columns_sheet(sheet: Worksheet) -> None:
    sheet.append(["table", "column", "required", "type", "allowed values", "description"])
    for table in COHORT_TABLES.values():
        for column in table.columns:
            sheet.append(
                [
                    table.name,
                    column.name,
                    "yes" if column.required else "no",
                    column.kind,
                    ", ".join(_list_values(column)),
                    column.description,
                ]
            )
    _style_header(sheet, widths=(16, 18, 10, 10, 60, 80))


def _write_units_sheet(sheet: Worksheet) -> None:
    sheet.append(["analyte", "accepted units (first = canonical)", "plausible range", "notes"])
    for analyte in ANALYTES.values():
        units = ", ".join(u.name for u in analyte.units) or "(no unit)"
        ranges = "; ".join(
            f"{low:g}–{high:g} {unit}".strip() for unit, (low, high) in analyte.ranges.items()
        )
        notes = analyte.description
        if analyte.name == "dipstick":
            notes += " (" + ", ".join(DIPSTICK_SPELLINGS) + ")"
        sheet.append([analyte.name, units, ranges, notes])
    _style_header(sheet, widths=(14, 40, 50, 90))


def _style_header(sheet: Worksheet, widths: tuple[int, ...]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.cell(row=1, column=index).font = _HEADER
        sheet.cell(row=1, column=index).fill = _HEADER_FILL
    sheet.freeze_panes = "A2"
