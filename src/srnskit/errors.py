"""The one error hierarchy of srnskit.

Every error a user can cause is a ``SrnskitError``; each also subclasses the builtin it means,
so callers may catch either. The command line turns each into a message and the exit code of
cohort-format.md §4; a real bug is not a ``SrnskitError`` and still shows its traceback.

    SrnskitError                            exit 1 unless a child says otherwise
    ├── InvalidInputError(ValueError)       exit 1: the input fails its checks
    │   ├── InvalidCohortError              a cohort with validation errors (carries problems)
    │   └── DefinitionError                 a definition or protocol file that fails its checks
    ├── UsageError(ValueError)              exit 2: a wrong argument, a missing path, a bad value
    └── MissingComponentError(ImportError)  exit 3: an optional component is not installed

    SrnskitWarning(UserWarning)             not an error: something the user should read (an
                                            old rule-file key read in its new form); the command
                                            line prints each on stderr
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srnskit.schema.problems import Problem

__all__ = [
    "DefinitionError",
    "InvalidCohortError",
    "InvalidInputError",
    "MissingComponentError",
    "SrnskitError",
    "SrnskitWarning",
    "UsageError",
]


class SrnskitError(Exception):
    """Root of every error a user of srnskit can cause."""

    exit_code = 1


class InvalidInputError(SrnskitError, ValueError):
    """The input (a cohort, a definition or protocol file) fails its checks."""

    exit_code = 1


class InvalidCohortError(InvalidInputError):
    """A cohort with at least one validation error; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        errors = sum(p.severity == "error" for p in self.problems)
        super().__init__(f"the cohort has {errors} validation error(s); nothing was written")


class DefinitionError(InvalidInputError):
    """A definition set or protocol file that is missing, mistyped or self-contradictory."""


class UsageError(SrnskitError, ValueError):
    """A wrong argument, a path that does not exist, an impossible value."""

    exit_code = 2


class MissingComponentError(SrnskitError, ImportError):
    """An optional component (Java, PySpark, a browser) is not installed; says what to install."""

    exit_code = 3


class SrnskitWarning(UserWarning):
    """A message for the user that does not stop the work (e.g. a definition file of format 1
    read in format 2's terms); the command line prints each on stderr."""
