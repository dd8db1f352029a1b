"""Shared fixtures: the test data folders and a runner for the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.examples import path as example_path

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests use their own cache folder (compiled plans, the chart bundle), never the user's."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


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
