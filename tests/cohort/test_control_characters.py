"""An identifier holding a control character (Unicode category Cc: a line break, a tab, a NUL)
is refused, and no problem prints a raw control character: one problem, one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.cohort.load import check_cohort, read_cohort
from srnskit.errors import InvalidCohortError
from srnskit.schema.problems import Problem, escaped, printable

TODAY = dt.date(2026, 12, 1)


def _cohort(folder: Path, patients: str, measurements: str = "") -> Path:
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,center_id,sex,birth_date,onset_date\n" + patients, newline=""
    )
    if measurements:
        (folder / "measurements.csv").write_text(
            "patient_id,date,analyte,value,unit\n" + measurements, newline=""
        )
    return folder


def test_escaped_writes_control_characters_as_repr_does() -> None:
    # repr writes a line break \n, a tab \t, NUL \x00, NEL (U+0085, also Cc) \x85.
    assert escaped("H-2\nX\t\x00\x85") == "H-2\\nX\\t\\x00\\x85"
    assert escaped("Zoë_3 'A'") == "Zoë_3 'A'"  # printable text, quotes included, unchanged


def test_escaped_writes_invisible_and_line_separating_characters_as_repr_does() -> None:
    # Format characters (Cf: zero-width space U+200B, byte-order mark U+FEFF), the line and
    # paragraph separators (Zl U+2028, Zp U+2029) and a no-break space (Zs U+00A0): a reader
    # would see 'P1' or a line break where the cell holds something else.
    assert escaped("P1\u200b") == "P1\\u200b"
    assert escaped("\ufeffP1") == "\\ufeffP1"
    assert escaped("a\u2028b\u2029c") == "a\\u2028b\\u2029c"
    assert escaped("g\xa0L") == "g\\xa0L"
    # Letters of any script and the signs our messages use print as they are.
    assert escaped("µmol/L × 88.4 … 山田 Ωμέγα") == "µmol/L × 88.4 … 山田 Ωμέγα"


def test_printable_escapes_a_problems_table_column_and_message_and_keeps_the_rest() -> None:
    # A sheet named with a tab, a header with a zero-width space, a message quoting a line
    # break: each part written as repr writes it; the row and severity kept; a problem that
    # prints as it is returned unchanged.
    odd = Problem("pat\tients", 3, "sex\u200b", "'F\nX' is not a sex", "warning")
    plain = Problem("patients", None, None, "the file is empty")
    assert printable([odd, plain]) == [
        Problem("pat\\tients", 3, "sex\\u200b", "'F\\nX' is not a sex", "warning"),
        plain,
    ]


def test_an_unknown_patient_with_an_invisible_character_is_named_visibly(
    tmp_path: Path,
) -> None:
    # 'H1<ZWSP>' in measurements is not the patient 'H1': the message shows why.
    folder = _cohort(
        tmp_path / "hand",
        "H1,A,F,2012-03-04,2016-05-01\n",
        "H1\u200b,2016-05-01,albumin,18,g/L\n",
    )
    errors = [str(p) for p in check_cohort(folder, today=TODAY) if p.severity == "error"]
    assert errors == [
        "measurements:2:patient_id: error: patient 'H1\\u200b' is not in the patients table"
    ]


def test_an_identifier_with_a_control_character_is_refused(tmp_path: Path) -> None:
    folder = _cohort(
        tmp_path / "hand",
        # A quoted CSV cell may hold a line break: patient_id 'H-2<LF>X' is on lines 3-4, row 3.
        'H1,A,F,2012-03-04,2016-05-01\n"H-2\nX",B,M,2010-01-15,2014-02-10\n'
        "H3,C\tD,M,2015-06-30,2018-09-12\n",
        '"H-2\nX",2014-02-10,albumin,18,g/L\n',
    )
    errors = [str(p) for p in check_cohort(folder, today=TODAY) if p.severity == "error"]
    assert errors == [
        "patients:3:patient_id: error: patient_id holds a control character (a line break); "
        "identifiers are printable text",
        "patients:4:center_id: error: center_id holds a control character (a tab); "
        "identifiers are printable text",
        "measurements:2:patient_id: error: patient_id holds a control character (a line "
        "break); identifiers are printable text",
    ]
    with pytest.raises(InvalidCohortError):
        read_cohort(folder, today=TODAY)


def test_no_problem_prints_a_raw_control_character(tmp_path: Path) -> None:
    # A sex 'M<ESC>' and an unknown unit 'g<LF>L' are quoted back escaped, on one line each.
    folder = _cohort(
        tmp_path / "hand",
        "H1,A,M\x1b,2012-03-04,2016-05-01\n",
        'H1,2016-05-01,albumin,18,"g\nL"\n',
    )
    problems = [str(p) for p in check_cohort(folder, today=TODAY)]
    assert problems, "the cohort has two errors"
    assert all(p.isprintable() for p in problems), problems
    assert any("'M\\x1b' is not an allowed sex" in p for p in problems), problems
    assert any("'g\\nL' is not a unit of albumin" in p for p in problems), problems


def test_a_header_that_does_not_print_is_named_escaped_in_the_column_part(
    tmp_path: Path,
) -> None:
    # A header 'notes<ZWSP>' (copied from a web page) and 'a<LF>b' (a quoted header cell with a
    # line break): each warning is one line, its column part escaped as its message is.
    folder = tmp_path / "hand"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        'patient_id,sex,birth_date,onset_date,notes\u200b,"a\nb"\nH1,F,2012-03-04,2016-05-01,x,y\n',
        newline="",
    )
    lines = [str(p) for p in check_cohort(folder, today=TODAY)]
    assert all(line.isprintable() for line in lines), lines
    assert any(
        line.startswith("patients:-:notes\\u200b: warning: 'notes\\u200b'") for line in lines
    )
    assert any(line.startswith("patients:-:a\\nb: warning: 'a\\nb'") for line in lines)


def test_an_error_naming_what_the_user_typed_prints_it_escaped(cli, tmp_path: Path) -> None:
    # explain with a patient 'H1<ZWSP>' (pasted): the usage error says it, visibly, on one line.
    folder = _cohort(tmp_path / "hand", "H1,A,F,2012-03-04,2016-05-01\n")
    result = cli("explain", folder, "H1\u200b", "--today", "2026-12-01")
    assert result.exit_code == 2
    assert result.stderr.startswith('srnskit: error: no patient "H1\\u200b" in ')
    assert result.stderr.endswith("\n")
    assert result.stderr[:-1].isprintable()


def test_the_verdict_names_a_folder_that_does_not_print_escaped(cli, tmp_path: Path) -> None:
    folder = _cohort(tmp_path / "clinic\u200b", "H1,A,F,2012-03-04,2016-05-01\n")
    result = cli("validate", folder, "--today", "2026-12-01")
    assert result.exit_code == 0
    assert result.stderr == (
        f"srnskit: {tmp_path}/clinic\\u200b: valid: 0 error(s), 0 warning(s) (1 patient)\n"
    )
    assert result.stdout == ""  # no problem: the verdict is on stderr, stdout holds problems
