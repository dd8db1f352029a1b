"""The demo cohort → srnskit fhir export (a transaction Bundle, and Bulk Data NDJSON) → srnskit
fhir import gives back the demo: the same five tables, row for row, and so derive's outcomes,
courses and episodes identical to the demo's under seed2023, kdigo2021 and ipna2020 (issue 20,
"Done when")."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from srnskit.cohort.load import read_cohort
from srnskit.engine import Derived
from srnskit.examples import path as example_path
from srnskit.schema import COHORT_TABLES
from tests.interchange.conftest import assert_tables_match
from tests.interchange.fhir.conftest import SETS, TODAY, derived_under_every_set

_KEYS = {
    "patient_outcomes": ["patient_id"],
    "courses": ["patient_id", "course_no"],
    "episodes": ["patient_id", "start_date", "state"],
}


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in table.column_names])


@pytest.mark.slow
@pytest.mark.parametrize("form", ["bundle", "ndjson"])
def test_export_then_import_gives_back_the_demo_and_what_it_derives(
    form: str,
    demo_export: dict[str, Path],
    demo_derived: dict[str, Derived],
    cli,
    tmp_path: Path,
) -> None:
    out = tmp_path / "imported"
    result = cli("fhir", "import", demo_export[form], "--out", out, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    # nothing of srnskit's own export is left unread
    assert "0 FHIR record(s) skipped" in result.stderr
    assert (out / "import" / "skipped.csv").read_text() == "origin,reason\n"

    with (
        read_cohort(example_path("demo"), today=TODAY) as demo,
        read_cohort(out, today=TODAY) as imported,
    ):
        for name in COHORT_TABLES:
            columns = [c.name for c in COHORT_TABLES[name].columns]
            expected = _sorted(demo.to_arrow(name).select(columns))
            found = _sorted(imported.to_arrow(name).select(columns))
            assert found.num_rows == expected.num_rows, name
            assert_tables_match(found, expected, name)

    again = derived_under_every_set(out)
    for name in SETS:
        for table, keys in _KEYS.items():
            expected = getattr(demo_derived[name], table).sort_by([(k, "ascending") for k in keys])
            found = getattr(again[name], table).sort_by([(k, "ascending") for k in keys])
            assert_tables_match(found, expected, f"{name}: {table}")  # floats as above
        assert again[name].flow == demo_derived[name].flow, name
