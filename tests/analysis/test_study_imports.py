"""The study computes from ``Derived`` alone: importing it loads no engine and no cohort loader."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import srnskit.analysis.study
loaded = sorted(m for m in sys.modules if m.split(".")[:2] in (["srnskit", "engine"],
                                                              ["srnskit", "cohort"]))
print(",".join(loaded))
"""


def test_importing_the_study_loads_no_engine_and_no_cohort() -> None:
    # a fresh interpreter: this test process has imported the engine long ago
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_the_probe_would_see_an_engine_import() -> None:
    probe = PROBE.replace("import srnskit.analysis.study", "import srnskit.engine")
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert "srnskit.engine" in out.stdout.split(",")
