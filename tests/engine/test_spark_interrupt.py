"""Ctrl-C while Spark works (engine.backends.spark_interrupt): the jobs are cancelled from
another thread, the main thread's call on the Py4J bridge is never interrupted, and the
command stops with ``KeyboardInterrupt`` once it is out of the bridge, exactly once.

Each case runs in a child process (a stray ``KeyboardInterrupt`` would stop pytest itself),
with a stand-in for the bridge: a module under a folder named ``py4j`` whose call blocks as a
Spark job's does until the fake context's ``cancelAllJobs`` ends it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from srnskit.engine.backends.spark_interrupt import _STOPPING

SAID = f"stderr: {_STOPPING.strip()}"

BRIDGE = """
import threading, time
cancelled = threading.Event()

def job(seconds):
    # A Spark job's call: blocks until cancelled (then fails, as Spark's does) or done.
    if cancelled.wait(seconds):
        raise RuntimeError("Job 3 cancelled as part of cancellation of all jobs")
    return "done"

def call(seconds):
    # A call that is no job (a file system's): a cancel does not end it.
    time.sleep(seconds)
    return "done"
"""

CHILD = """
import os, signal, sys, threading, time
sys.path.insert(0, sys.argv[1])
from py4j import bridge
from srnskit.engine.backends.spark_interrupt import install_interrupt, take_interrupt

case = sys.argv[2]

class Context:
    seen = set()

    def cancelAllJobs(self):  # said once per thread kind (the helper cancels while it waits)
        who = "main" if threading.current_thread() is threading.main_thread() else "helper"
        if who not in self.seen:
            self.seen.add(who)
            print("cancel from", who, flush=True)
        if case in ("job", "later"):  # a call that is no job runs to its end
            bridge.cancelled.set()

# While the JVM starts there is no context yet: nothing to cancel.
install_interrupt(None if case == "starting" else Context())
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
if case == "insist":  # the user presses Ctrl-C again, 3.5 s later
    threading.Timer(3.8, os.kill, (os.getpid(), signal.SIGINT)).start()
where = "in the call"
try:
    try:
        if case == "insist":
            bridge.call(20)  # a call that does not end (a file system that does not answer)
        elif case == "starting":
            print("call returned", bridge.call(1.0), flush=True)
        elif case == "later":
            # Ctrl-C during a call that is no job; the next call on the bridge, a job started
            # right after it, is cancelled too, and its error is the interruption.
            print("call returned", bridge.call(0.6), flush=True)
            bridge.job(30)
        elif case != "none":
            print("job returned", bridge.job(30 if case == "job" else 1.0), flush=True)
        where = "after the call"
        time.sleep(5)  # Python's own work after the call: the interruption lands here
        print("not interrupted", flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", where, flush=True)
    except RuntimeError as exc:
        # The command line's rule (cli.common): an error met while a Ctrl-C is served.
        print("error", exc, "taken" if take_interrupt() else "not taken", flush=True)
    time.sleep(0.5)  # no second KeyboardInterrupt may come
    print("end", flush=True)
except KeyboardInterrupt:
    print("second KeyboardInterrupt", flush=True)
"""


def _run(tmp_path: Path, case: str) -> list[str]:
    (tmp_path / "py4j").mkdir()
    (tmp_path / "py4j" / "__init__.py").write_text("")
    (tmp_path / "py4j" / "bridge.py").write_text(textwrap.dedent(BRIDGE))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), case],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # What the user sees on stderr follows what the child printed (stdout).
    return done.stdout.splitlines() + [f"stderr: {line}" for line in done.stderr.splitlines()]


def test_a_running_job_is_cancelled_from_another_thread_and_its_error_is_the_interruption(
    tmp_path: Path,
) -> None:
    assert _run(tmp_path, "job") == [
        "cancel from helper",
        "error Job 3 cancelled as part of cancellation of all jobs taken",
        "end",
        SAID,
    ]


@pytest.mark.slow
def test_a_call_that_is_no_job_returns_and_the_interruption_follows_it(tmp_path: Path) -> None:
    # The call runs to its end (1 s; a cancel does not end it); KeyboardInterrupt comes
    # after it, in Python's own work, and once.
    assert _run(tmp_path, "quick") == [
        "cancel from helper",
        "job returned done",
        "KeyboardInterrupt after the call",
        "end",
        SAID,
    ]


def test_a_job_started_after_the_ctrl_c_is_cancelled_too(tmp_path: Path) -> None:
    assert _run(tmp_path, "later") == [
        "cancel from helper",
        "call returned done",
        "error Job 3 cancelled as part of cancellation of all jobs taken",
        "end",
        SAID,
    ]


@pytest.mark.slow
def test_ctrl_c_while_the_jvm_starts_waits_for_the_start(tmp_path: Path) -> None:
    # No context yet: nothing is cancelled; the call (the JVM's launch) runs to its end.
    assert _run(tmp_path, "starting") == [
        "call returned done",
        "KeyboardInterrupt after the call",
        "end",
        SAID,
    ]


def test_a_second_ctrl_c_seconds_later_is_obeyed_on_the_bridge(tmp_path: Path) -> None:
    # The first Ctrl-C waits for a call that does not end; the second, 3.5 s later, stops it.
    assert _run(tmp_path, "insist") == [
        "cancel from helper",
        "KeyboardInterrupt in the call",
        "end",
        SAID,
    ]


def test_ctrl_c_outside_the_bridge_is_a_keyboard_interrupt_at_once(tmp_path: Path) -> None:
    # No call on the bridge (the timer fires during Python's own sleep): no cancel.
    assert _run(tmp_path, "none") == ["KeyboardInterrupt after the call", "end"]
