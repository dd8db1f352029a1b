"""The lines an import prints for the records it skipped (cli.common.echo_skipped)."""

from __future__ import annotations

import pytest

from srnskit.cli.common import echo_skipped
from srnskit.sources.interchange import Skipped


def test_each_skipped_record_is_one_line_with_control_characters_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    echo_skipped([Skipped("REDCap record 'H-2\nX'", "no field srnskit maps")])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "skipped: REDCap record 'H-2\\nX': no field srnskit maps\n"


def test_a_kind_is_shown_100_times_then_counted(capsys: pytest.CaptureFixture[str]) -> None:
    # 103 Observations skipped for one reason (their codes differ: one kind once the quoted
    # values are masked) and one for another: 100 + 1 lines, then one line counting 3 more.
    skipped = [
        Skipped(f"FHIR Observation 'o{n}'", f"no LOINC code '{n}-1' srnskit maps")
        for n in range(103)
    ]
    skipped.append(Skipped("FHIR Procedure 'p1'", "a procedure srnskit does not map"))
    echo_skipped(skipped)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 102
    assert lines[0] == "skipped: FHIR Observation 'o0': no LOINC code '0-1' srnskit maps"
    assert lines[100] == "skipped: FHIR Procedure 'p1': a procedure srnskit does not map"
    assert lines[101].startswith("skipped: 3 more like '")
    assert lines[101].endswith("' (the file lists each)")
