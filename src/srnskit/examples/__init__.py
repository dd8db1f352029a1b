"""Example cohorts shipped with srnskit (invented children; never real patient data)."""

from pathlib import Path

__all__ = ["path"]


def path(name: str) -> Path:
    """The folder of the shipped example cohort ``name`` (``small``)."""
    folder = Path(__file__).parent / name
    if not folder.is_dir():
        raise FileNotFoundError(f"no example cohort named {name!r}")
    return folder
