"""Usage of the interchange commands: every help page shows, URLs with secrets are shown
without them, a URL Python cannot parse is a usage error (exit 2), never a traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.sources.omop.database import redacted


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("words", _commands(typer.main.get_command(app)), ids=" ".join)
def test_every_help_page_shows(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_a_password_never_shows_in_a_database_url() -> None:
    assert redacted("postgresql://ann:s3cret@db/cdm") == "postgresql://ann:***@db/cdm"
    assert redacted("postgresql://ann@db/cdm?password=s3cret&sslmode=require") == (
        "postgresql://ann@db/cdm?password=***&sslmode=require"
    )


def test_a_port_that_is_not_a_number_is_a_usage_error(tmp_path: Path) -> None:
    url = "postgresql://ann:s3cret@127.0.0.1:notaport/cdm"
    result = CliRunner().invoke(app, ["omop", "import", url, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "s3cret" not in result.output
    assert "is not a PostgreSQL URL srnskit can read" in result.output
    assert not (tmp_path / "o").exists()
