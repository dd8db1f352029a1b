"""All-or-nothing writes: a failure leaves the target as it was."""

from __future__ import annotations

import pytest

from srnskit.atomic import atomic_directory, atomic_file
from srnskit.errors import UsageError


def test_a_failed_file_write_leaves_nothing(tmp_path) -> None:
    target = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError), atomic_file(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_directory_write_keeps_the_old_directory(tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.csv").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target, force=True) as temporary:
        (temporary / "new.csv").write_text("new")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in target.iterdir()] == ["old.csv"]


def test_a_directory_write_replaces_with_force(tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.csv").write_text("old")
    with pytest.raises(UsageError, match="is not empty; use --force"), atomic_directory(target):
        pass
    with atomic_directory(target, force=True) as temporary:
        (temporary / "new.csv").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in target.iterdir()] == ["new.csv"]
