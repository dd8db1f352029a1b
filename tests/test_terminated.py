"""SIGTERM, as ``kill``, ``timeout``, a batch scheduler or Kubernetes stop a job: served as
Ctrl-C is, so the output being written is removed (all or nothing) and the command ends with
143 (128 + 15). Before, the process died where it stood and left its hidden temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srnskit.cli import common

PROGRAM = "import sys; from srnskit.cli import main; sys.argv[0] = 'srnskit'; main()"


def test_sigterm_while_writing_leaves_nothing_and_ends_with_143(tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    command = [sys.executable, "-c", PROGRAM, "synth", "--patients", "40000", "--out", str(out)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # Stopped once it writes: its temporary folder (.synthetic.XXXX) is there
    while not any(p.name.startswith(".synthetic.") for p in tmp_path.iterdir()):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGTERM)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGTERM, stderr
    assert list(tmp_path.iterdir()) == []
    assert b"Traceback" not in stderr


def test_an_error_raised_after_a_stop_signal_is_the_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    # DuckDB turns a query stopped by SIGINT (SIGTERM is served as SIGINT) into its own
    # "Query interrupted" error: once a stop signal came, that error is the interruption
    # (exit 130, or 143 for SIGTERM), not a traceback and exit 1 (a reviewer's timing)
    def query() -> None:
        raise RuntimeError("Query interrupted")

    with pytest.raises(RuntimeError):
        common._uninterrupted(query)
    monkeypatch.setattr(common, "STOPPED", [signal.SIGTERM])
    with pytest.raises(KeyboardInterrupt):
        common._uninterrupted(query)
