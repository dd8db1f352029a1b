"""The report's tables as a Word document (``--docx``): what co-authors edit.

The cells are the HTML report's own (``tables.display_tables``), so the numbers agree to the
character. python-docx writes the file (docs/decisions.md); nothing here computes a result.
"""

from __future__ import annotations

import io

from srnskit.outputs.report.tables import Table

__all__ = ["word_document"]

FONT = "Calibri"
FONT_PT = 10
INDENT_CM = 0.4  # a sub-row's indent per level (Table 1's histology and variants)


def _table(document: object, table: Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document.add_heading(table.title, level=2)  # type: ignore[attr-defined]
    if not table.rows or table.empty:
        document.add_paragraph(table.empty or "No rows.")  # type: ignore[attr-defined]
        if table.note:
            document.add_paragraph(table.note)  # type: ignore[attr-defined]
        return
    grid = document.add_table(rows=1, cols=len(table.header))  # type: ignore[attr-defined]
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, table.header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    numeric = table.numeric or [False] * len(table.header)
    for row, indent in zip(table.rows, table.indent, strict=True):
        cells = grid.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            paragraph = cell.paragraphs[0]
            if i == 0 and indent:
                paragraph.paragraph_format.left_indent = Cm(INDENT_CM * indent)
            if i < len(numeric) and numeric[i]:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            for run in paragraph.runs:
                run.font.size = Pt(FONT_PT)
    if table.note:
        note = document.add_paragraph(table.note)  # type: ignore[attr-defined]
        for run in note.runs:
            run.italic = True
            run.font.size = Pt(FONT_PT - 1)


def word_document(title: str, lines: list[str], tables: list[Table]) -> bytes:
    """A .docx of ``title``, the paragraphs ``lines`` (the cohort, definitions, study, date and
    what the data could not support), then each table with its note. Returns the file's bytes.
    """
    from docx import Document
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(FONT_PT)
    document.add_heading(title, level=1)
    for line in lines:
        document.add_paragraph(line)
    for table in tables:
        _table(document, table)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
