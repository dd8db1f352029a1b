"""The ``srnskit`` command line (cohort-format.md §4): thin commands over the library.

One module per command group, each registering its commands on the one application
(``common.app``): ``cohort`` (validate, template), ``calc`` (the calculators), ``synth``,
``engine`` (derive, explain), ``report``, ``registry`` (db, users, registry, audit) and
``serve``. A command parses its arguments, calls the library and prints;
``common.reports_errors`` turns a ``SrnskitError`` into its message and exit code.
"""

import signal
import threading
from types import FrameType

from srnskit.cli import calc, cohort, engine, fhir, omop, redcap, registry, report, serve, synth
from srnskit.cli.common import STOPPED, app

__all__ = ["app", "main"]

# The command groups register themselves on ``app`` when imported (above).
_COMMAND_GROUPS = (cohort, calc, synth, engine, report, registry, serve, redcap, fhir, omop)


def main() -> None:
    """Entry point of the ``srnskit`` console script.

    SIGTERM (``kill``, ``timeout``, a batch scheduler or Kubernetes stopping the job) is served
    as Ctrl-C is (the SIGINT handler then in place: Python's, or Spark's,
    ``engine.backends.spark_interrupt``), so an output being written is removed, never left
    half-written, and the command ends with 143 (128 + SIGTERM), the shell's code for it. Each
    stop signal is recorded (``common.STOPPED``): an error a stopped query raises is the stop."""

    def on_int(signum: int, frame: FrameType | None) -> None:
        STOPPED.append(signum)
        raise KeyboardInterrupt

    def on_term(signum: int, frame: FrameType | None) -> None:
        STOPPED.append(signum)
        served = signal.getsignal(signal.SIGINT)
        if callable(served):
            served(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_int)
        signal.signal(signal.SIGTERM, on_term)
    try:
        app(prog_name="srnskit")
    except SystemExit:
        if signal.SIGTERM in STOPPED:
            raise SystemExit(128 + signal.SIGTERM) from None
        raise


if __name__ == "__main__":
    main()
