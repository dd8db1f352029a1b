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

install_interrupt(Context())
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    try:
        if case == "later":
            # Ctrl-C during a call that is no job; the next call on the bridge, a job started
            # right after it, is cancelled too, and its error is the interruption.
            print("call returned", bridge.call(0.6), flush=True)
            bridge.job(30)
        elif case != "none":
            print("job returned", bridge.job(30 if case == "job" else 1.0), flush=True)
        time.sleep(5)  # Python's own work after the call: the interruption lands here
        print("not interrupted", flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt after the call", flush=True)
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
    return done.stdout.splitlines()


def test_a_running_job_is_cancelled_from_another_thread_and_its_error_is_the_interruption(
    tmp_path: Path,
) -> None:
    assert _run(tmp_path, "job") == [
        "cancel from helper",
        "error Job 3 cancelled as part of cancellation of all jobs taken",
        "end",
    ]


def test_a_call_that_is_no_job_returns_and_the_interruption_follows_it(tmp_path: Path) -> None:
    # The call runs to its end (1 s; a cancel does not end it); KeyboardInterrupt comes
    # after it, in Python's own work, and once.
    assert _run(tmp_path, "quick") == [
        "cancel from helper",
        "job returned done",
        "KeyboardInterrupt after the call",
        "end",
    ]


def test_a_job_started_after_the_ctrl_c_is_cancelled_too(tmp_path: Path) -> None:
    assert _run(tmp_path, "later") == [
        "cancel from helper",
        "call returned done",
        "error Job 3 cancelled as part of cancellation of all jobs taken",
        "end",
    ]


def test_ctrl_c_outside_the_bridge_is_a_keyboard_interrupt_at_once(tmp_path: Path) -> None:
    # No call on the bridge (the timer fires during Python's own sleep): no cancel.
    assert _run(tmp_path, "none") == ["KeyboardInterrupt after the call", "end"]
