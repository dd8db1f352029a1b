"""How every command shows its options and reports a usage error (cohort-format.md §4: exit 2).

A flag takes no value, so its help shows none (typer 0.29 printed ``--force <bool>``, yet
``--force true`` fails); every usage error prints the command's Usage line, also Click's
"requires an argument"; an option that only means something with another says so."""

from __future__ import annotations

import pytest
import typer.main

from srnskit.cli import app


def _leaves(command, path=()):
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path
        return
    for name, sub in subcommands.items():
        yield from _leaves(sub, (*path, name))


COMMANDS = sorted(_leaves(typer.main.get_command(app)))


def test_every_command_is_walked() -> None:
    assert ("fhir", "export") in COMMANDS
    assert ("derive",) in COMMANDS
    assert len(COMMANDS) > 20


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_no_flag_shows_a_value(cli, words) -> None:
    result = cli(*words, "--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    help_line = next(line for line in result.stdout.splitlines() if "--help" in line)
    assert help_line.split()[:3] == ["│", "--help", "Show"]


def test_the_force_flag_shows_no_value(cli) -> None:
    result = cli("fhir", "export", "--help")
    line = next(line for line in result.stdout.splitlines() if "--force" in line)
    assert line.split()[:3] == ["│", "--force", "Replace"]


def test_a_missing_option_argument_prints_the_usage_line(cli) -> None:
    result = cli("fhir", "import", "X", "--out", "Y", "--patient-identifier")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].strip().endswith("fhir import [OPTIONS] {BUNDLE.json|NDJSON_DIR}")
    assert lines[0].strip().startswith("Usage: ")
    assert "Option '--patient-identifier' requires an argument." in result.stderr


def test_a_missing_option_argument_reads_like_an_unknown_option(cli) -> None:
    missing = cli("fhir", "import", "X", "--out", "Y", "--patient-identifier")
    unknown = cli("fhir", "import", "X", "--out", "Y", "--bogus")
    assert missing.stderr.splitlines()[:2] == unknown.stderr.splitlines()[:2]


def test_spark_master_without_spark_is_a_usage_error(cli, tmp_path) -> None:
    source = tmp_path / "opin"
    source.mkdir()
    result = cli("omop", "import", source, "--out", tmp_path / "o", "--spark-master", "local[1]")
    assert result.exit_code == 2
    assert result.stderr == (
        "srnskit: error: --spark-master chooses where Spark runs: give --engine spark too\n"
    )
    assert not (tmp_path / "o").exists()
