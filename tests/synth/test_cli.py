"""The synth command: bad arguments exit 2 in one line; nothing half-written."""

from __future__ import annotations

import pytest

from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--patients", "0"], "--patients must be at least 1, not 0"),
        (["--patients", "5", "--seed", "-3"], "--seed must be 0 or more, not -3"),
        (["--patients", "5", "--profile", "nope"], "no profile named 'nope'; shipped: seed2023"),
        (["--patients", "5", "--format", "xlsx"], ""),
    ],
)
def test_bad_arguments_exit_2(cli, tmp_path, arguments, message) -> None:
    result = cli("synth", *arguments, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_out_folder_that_is_not_empty_needs_force(cli, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("a previous output")
    result = cli("synth", "--patients", "5", "--out", out)
    assert result.exit_code == 2
    assert "is not empty; use --force" in result.stderr
    assert [p.name for p in out.iterdir()] == ["old.csv"]
    assert cli("synth", "--patients", "5", "--out", out, "--force").exit_code == 0
    assert (out / "patients.csv").exists()
    assert not (out / "old.csv").exists()


def test_force_keeps_a_folder_holding_what_srnskit_does_not_write(cli, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = cli("synth", "--patients", "5", "--out", out, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {out} holds keep.txt, which srnskit does not write: --force replaces "
        "only a folder of srnskit's own outputs; move those away or give another --out\n"
    )
    assert (out / "keep.txt").read_text() == "mine"


def test_an_interrupted_run_leaves_nothing(tmp_path) -> None:
    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_synthetic_cohort(
            tmp_path / "out",
            profile=load_profile("seed2023"),
            patients=10,
            seed=1,
            on_chunk=interrupt,
        )
    assert list(tmp_path.iterdir()) == []


def test_synth_writes_a_cohort_with_truth(cli, tmp_path) -> None:
    result = cli(
        "synth",
        "--patients",
        "20",
        "--seed",
        "2",
        "--out",
        tmp_path / "c",
        "--truth",
        "--format",
        "parquet",
    )
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "c" / "truth").iterdir()) == [
        "courses.parquet",
        "episodes.parquet",
        "patient_outcomes.parquet",
    ]
    # what synth says of its work is on stderr; its answer is the folder, stdout stays empty
    assert result.stdout == ""
    [said] = result.stderr.splitlines()
    assert said.startswith(f"srnskit: wrote {tmp_path / 'c'}: 20 children, ")
    assert " a child) and the truth in " in said


def test_calibration_report_prints_each_figure_with_its_verdict(cli) -> None:
    result = cli("synth", "--calibration-report", "--patients", "5000", "--seed", "1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["figure", "target"]
    initial = next(line for line in lines if line.startswith("initial resistance"))
    assert initial.split()[2] == "36.40"
    assert initial.endswith("ok")
    assert lines[-1] == "39 of 39 figures within tolerance"
