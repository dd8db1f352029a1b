"""``--against REV`` for the benchmarks: the code of commit REV in a temporary git worktree.

A benchmark imports it through PYTHONPATH (the worktree's ``src``) in a child process, so the
same files are timed on this code and on REV's in the same run. The scripts run as
``python benchmarks/x.py``, with this folder on ``sys.path``: ``from against import worktree``.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["worktree"]


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """A temporary detached git worktree of ``revision``; yields its ``src`` folder.

    Raises ``subprocess.CalledProcessError`` when git cannot add the worktree (an unknown
    revision); the worktree is removed on exit.
    """
    root = Path(__file__).resolve().parents[1]
    folder = Path(tempfile.mkdtemp(prefix="srnskit-against-")) / "tree"
    subprocess.run(
        ["git", "-C", str(root), "worktree", "add", "--detach", "-q", str(folder), revision],
        check=True,
    )
    try:
        yield folder / "src"
    finally:
        subprocess.run(
            ["git", "-C", str(root), "worktree", "remove", "--force", str(folder)], check=True
        )
