"""Shared fixtures: the test data folders and a runner for the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.examples import path as example_path

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def small_cohort() -> Path:
    return example_path("small")


class Cli:
    """Runs ``srnskit`` in-process; ``stdout`` and ``stderr`` are kept apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path):
        return self.runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def cli() -> Cli:
    return Cli()
