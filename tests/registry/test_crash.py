"""Crash safety (issue 18): an import killed (SIGKILL) in the middle of a 20,000-patient cohort
leaves the database as it was and the audit chain intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
import sqlalchemy as sa

from srnskit.registry.audit import verify
from srnskit.registry.db import make_engine

# Minutes of browsers or of large imports: `make test-slow` runs them (CI does).
pytestmark = pytest.mark.slow

SRNSKIT = str(Path(sys.executable).parent / "srnskit")
# How long the test waits for the import to start inserting rows (its first batch of 1,000
# children holds about 350,000 rows, written over tens of seconds).
PATIENCE_SECONDS = 300


def _state(url: str) -> dict[str, object]:
    engine = make_engine(url)
    state: dict[str, object] = {}
    with engine.connect() as connection:
        for table in (
            "patients",
            "treatments",
            "adverse_events",
            "events",
            "users",
            "audit_entries",
            "audit_centers",
            "derived_results",
            "patient_offsets",
        ):
            state[table] = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        state["measurements"] = tuple(
            connection.execute(
                sa.text("SELECT count(*), sum(value), max(id) FROM measurements")
            ).one()
        )
        state["patient_rows"] = connection.execute(
            sa.text("SELECT * FROM patients ORDER BY patient_id")
        ).all()
        state["head"] = tuple(connection.execute(sa.text("SELECT * FROM audit_head")).one())
        state["intact"] = verify(connection).intact
    engine.dispose()
    return state


def _writing(url: str) -> bool:
    """Whether the import is inserting rows: SQLite's write-ahead log holds megabytes of
    uncommitted pages; PostgreSQL shows another session running an INSERT."""
    if url.startswith("sqlite"):
        wal = Path(url.removeprefix("sqlite:///") + "-wal")
        return wal.exists() and wal.stat().st_size > 10_000_000
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE 'INSERT%'"
            )
        ).scalar_one()
    engine.dispose()
    return int(count) > 0


def test_a_killed_import_leaves_the_database_as_it_was(
    db_url: str, demo_by_center: dict[str, Path], tmp_path: Path
) -> None:
    first = subprocess.run(
        [SRNSKIT, "registry", "import", str(demo_by_center["A"]), "--center", "A", "--db", db_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    before = _state(db_url)
    assert before["intact"]
    big = tmp_path / "big"
    made = subprocess.run(
        [SRNSKIT, "synth", "--patients", "20000", "--seed", "7", "--out", str(big)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    patients = pacsv.read_csv(
        big / "patients.csv",
        convert_options=pacsv.ConvertOptions(column_types={"center_id": pa.string()}),
    )
    index = patients.column_names.index("center_id")
    patients = patients.set_column(index, "center_id", pa.nulls(patients.num_rows, pa.string()))
    pacsv.write_csv(patients, big / "patients.csv")  # an empty centre is the import's
    process = subprocess.Popen(
        [SRNSKIT, "registry", "import", str(big), "--center", "A", "--db", db_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "writing" in line:
                break
        else:
            raise AssertionError(f"the import ended before writing: {process.wait()}")
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not _writing(db_url):  # rows are being inserted: kill it now
            assert time.monotonic() < deadline, "no insert seen"
            assert process.poll() is None, "the import finished before it could be killed"
            time.sleep(0.2)
        assert process.poll() is None, "the import finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert _state(db_url) == before
    again = subprocess.run(
        [SRNSKIT, "audit", "verify", "--db", db_url], capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stdout
