"""Formula cells saved without their result in an .xlsx workbook.

A workbook written by a program (not by Excel) can hold formulas whose result was never
computed: every reader then sees an empty cell. The sheets' XML says which cells they are (a
``<c>`` with an ``<f>`` and no value), so validation can say "a formula with no saved result"
instead of "empty" (issue 16).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

__all__ = ["formulas_without_results"]

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PACKAGE = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REFERENCE = re.compile(r"^([A-Z]+)([0-9]+)$")


def _column_index(letters: str) -> int:
    """A1-style column letters as a position from 0 (A = 0, Z = 25, AA = 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def formulas_without_results(path: Path, sheets: set[str]) -> dict[str, list[tuple[int, int]]]:
    """For each sheet named in ``sheets``: the cells (row from 1, column from 0) that hold a
    formula with no saved result. A workbook whose parts cannot be read gives no cells (the
    reader reports the workbook itself)."""
    found: dict[str, list[tuple[int, int]]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            targets = _sheet_parts(archive)
            for name in sheets:
                part = targets.get(name)
                if part is not None and part in archive.namelist():
                    with archive.open(part) as xml:
                        found[name] = _empty_formulas(xml)
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, OSError):
        return {}
    return found


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the archive path of its XML part."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    by_id = {r.get("Id"): r.get("Target", "") for r in relations.iter(f"{_PACKAGE}Relationship")}
    parts = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = by_id.get(sheet.get(_RELATIONSHIP), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        parts[sheet.get("name", "")] = posixpath.normpath(path)
    return parts


def _empty_formulas(xml: IO[bytes]) -> list[tuple[int, int]]:
    cells = []
    for _, element in ElementTree.iterparse(xml):
        if element.tag != f"{_MAIN}c":
            continue
        formula = element.find(f"{_MAIN}f")
        value = element.find(f"{_MAIN}v")
        if formula is not None and (value is None or not (value.text or "").strip()):
            match = _REFERENCE.match(element.get("r", ""))
            if match:
                cells.append((int(match.group(2)), _column_index(match.group(1))))
        element.clear()
    return cells
