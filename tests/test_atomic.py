"""All-or-nothing writes: a failure leaves the target as it was."""

from __future__ import annotations

import pytest

from srnskit.atomic import atomic_directory, atomic_file, check_output_directory, make_parents
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


def test_a_file_write_makes_its_missing_folders(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "out.html"
    with atomic_file(target) as temporary:
        temporary.write_text("report")
    assert target.read_text() == "report"
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["out.html"]


def test_a_failed_file_write_removes_the_folders_it_made(tmp_path) -> None:
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "kept/new/deeper/out.pdf") as t:
        t.write_bytes(b"half")
        raise RuntimeError("interrupted")
    # the folder that was there stays; the two made for the write are gone
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


def test_a_directory_write_makes_and_on_failure_removes_its_folders(tmp_path) -> None:
    with atomic_directory(tmp_path / "x" / "figures") as folder:
        (folder / "f.svg").write_text("<svg/>")
    assert (tmp_path / "x" / "figures" / "f.svg").exists()
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "y" / "z" / "tables") as folder:
        (folder / "t.csv").write_text("a")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_two_outputs_sharing_a_new_folder_leave_nothing_when_the_second_fails(tmp_path) -> None:
    """The report writes several outputs in one stack: the folder made for the first is removed
    when a later one fails, once both temporaries are gone."""
    from contextlib import ExitStack

    with pytest.raises(RuntimeError), ExitStack() as stack:
        stack.enter_context(atomic_file(tmp_path / "out/r.html")).write_text("html")
        folder = stack.enter_context(atomic_directory(tmp_path / "out/fig"))
        (folder / "f.svg").write_text("<svg/>")
        raise RuntimeError("the PDF failed")
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_a_folder_must_be_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "plain").write_text("not a folder")
    with (
        pytest.raises(UsageError, match="is not a folder"),
        atomic_file(tmp_path / "plain/sub/out.html"),
    ):
        pass
    with pytest.raises(UsageError, match="is not a folder"):
        check_output_directory(tmp_path / "plain/sub/figures")
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]


def test_a_folder_that_cannot_be_made_is_a_usage_error_and_leaves_nothing(
    tmp_path, monkeypatch
) -> None:
    """The second of two folders cannot be made (permissions, say): the first is removed."""
    from pathlib import Path

    made = Path.mkdir

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        if self.name == "b":
            raise PermissionError(13, "Permission denied")
        made(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(UsageError, match=r"cannot create the folder .*b: Permission denied"):
        make_parents(tmp_path / "a" / "b" / "out.html")
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_tables_spark_wrote_as_folders_of_part_files(tmp_path) -> None:
    # cohort-format.md §3: with Spark, NAME.parquet is a folder of part files (and Spark's
    # _SUCCESS marker and Hadoop's .crc checksums beside them)
    target = tmp_path / "out"
    parts = target / "episodes.parquet"
    parts.mkdir(parents=True)
    for name in ("part-00000-a.zstd.parquet", ".part-00000-a.zstd.parquet.crc", "_SUCCESS"):
        (parts / name).write_bytes(b"")
    (target / "flow.json").write_text("{}")
    check_output_directory(target, force=True)
    (parts / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"holds episodes\.parquet/"):
        check_output_directory(target, force=True)
