"""The cache folder never fails a command: missing, broken or read-only means computing again."""

from __future__ import annotations

from pathlib import Path

import pytest

from srnskit.cache import cache_dir, read_cached, write_cached


def test_written_text_is_read_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "srnskit"
    assert read_cached("plans/a.json") is None
    write_cached("plans/a.json", "{}")
    assert read_cached("plans/a.json") == "{}"
    assert [p.name for p in (tmp_path / "srnskit" / "plans").iterdir()] == ["a.json"]


def test_an_unusable_cache_folder_is_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    write_cached("plans/a.json", "{}")  # cannot create a folder under a file: no error
    assert read_cached("plans/a.json") is None
