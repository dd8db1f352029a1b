"""The ``srnskit`` command line (cohort-format.md §4): thin commands over the library.

One module per command group, each registering its commands on the one application
(``common.app``): ``cohort`` (validate, template), ``calc`` (the calculators), ``synth``,
``engine`` (derive, explain), ``report``, ``registry`` (db, users, registry, audit) and
``serve``. A command parses its arguments, calls the library and prints;
``common.reports_errors`` turns a ``SrnskitError`` into its message and exit code.
"""

from srnskit.cli import calc, cohort, engine, fhir, omop, redcap, registry, report, serve, synth
from srnskit.cli.common import app

__all__ = ["app", "main"]

# The command groups register themselves on ``app`` when imported (above).
_COMMAND_GROUPS = (cohort, calc, synth, engine, report, registry, serve, redcap, fhir, omop)


def main() -> None:
    """Entry point of the ``srnskit`` console script."""
    app(prog_name="srnskit")


if __name__ == "__main__":
    main()
