"""Ctrl-C while Spark works: the jobs cancelled, then the command stops as any other does.

PySpark's own SIGINT handler (``SparkContext.__init__``) cancels the jobs and raises
``KeyboardInterrupt`` at once, from inside the main thread's call over the Py4J bridge. With
PySpark's pinned threads (its default), the cancel is sent on the very connection the main
thread is reading its answer from: Python refuses the reentrant read, the bridge reports the
broken connection as a logged stack trace, and the call fails with a ``Py4JError``, printed
as another. The handler here never interrupts a call on the bridge: it cancels the jobs from
a thread of its own (its own connection), again while the main thread stays on the bridge
(a job started after the Ctrl-C is cancelled too); a cancelled job's call returns at once,
with its error, which the command line takes as the interruption (``take_interrupt``); a
main thread that comes out of the bridge and goes on with Python's own work is interrupted
then. So the command's own clean-up (a half-written output removed, ``atomic``) runs on a
working bridge and the command ends as Ctrl-C ends any other (exit code 130), after one line
saying it is stopping (``_STOPPING``). A second Ctrl-C seconds after the first is obeyed at
once.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

__all__ = ["install_interrupt", "take_interrupt"]

# How often the helper thread looks whether the main thread has come out of the bridge, and
# how long it must stay out: a cancelled job's error unwinds through clean-up calls on the
# bridge (a half-written folder deleted), with only moments of Python between them, and is
# taken as the interruption where it ends (``take_interrupt``); the helper interrupts only a
# main thread that went on with Python's own work (a call that was no job returned).
_POLL_SECONDS = 0.1
_SETTLED_SECONDS = 0.5
# A Ctrl-C this long after one still being served is obeyed at once, on the bridge or not: the
# way out of a call that does not end (a file system that does not answer).
_INSISTED_SECONDS = 3.0
_STOPPING = (
    "srnskit: stopping: Spark's jobs are being cancelled "
    "(Ctrl-C again in a few seconds to stop at once)\n"
)


class _Handler:
    """The SIGINT handler of a process that starts a Spark session (one a process)."""

    def __init__(self) -> None:
        self.context: Any = None  # the SparkContext once it exists
        # Re-entrant: the handler runs in the main thread, which may hold it (take_interrupt).
        self.lock = threading.RLock()
        self.pending: float | None = None  # when the Ctrl-C not yet delivered came
        self.delivering = False  # the helper's interrupt_main, not the user's Ctrl-C
        self.helper: threading.Thread | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        with self.lock:
            delivered, self.delivering = self.delivering, False
            first = self.pending
            insisted = first is not None and time.monotonic() - first >= _INSISTED_SECONDS
            if not _on_bridge(frame) or (insisted and not delivered):
                self.pending = None
                raise KeyboardInterrupt
            if first is None:
                self.pending = time.monotonic()
                if not delivered:
                    # Said at once (the stop may take seconds): a write to the file descriptor,
                    # as the handler may run while the main thread is inside sys.stderr.
                    os.write(2, _STOPPING.encode())
            if self.helper is not None:
                return  # a second Ctrl-C while the first is being served
            self.helper = threading.Thread(target=self._serve, name="srnskit-ctrl-c", daemon=True)
            self.helper.start()

    def _serve(self) -> None:
        main = threading.main_thread().ident
        off_since: float | None = None
        while self.pending is not None and main is not None:
            if _on_bridge(sys._current_frames().get(main)):
                # Cancelled while the main thread is on the bridge, again and again: a job it
                # starts after the Ctrl-C (the next check's) is cancelled too.
                if self.context is not None:
                    with contextlib.suppress(Exception):  # the JVM gone: nothing to cancel
                        self.context.cancelAllJobs()
                off_since = None
            elif off_since is None:
                off_since = time.monotonic()
            elif time.monotonic() - off_since >= _SETTLED_SECONDS:
                break
            time.sleep(_POLL_SECONDS)
        with self.lock:
            self.helper = None
            if self.pending is None:
                return  # delivered meanwhile, as the cancelled job's error (``take_interrupt``)
            self.pending = None
            self.delivering = True
        # The handler is called again: out of the bridge, it raises KeyboardInterrupt; back on
        # it already (a clean-up's call), it serves the Ctrl-C again.
        _thread.interrupt_main(signal.SIGINT)


_HANDLER = _Handler()


def install_interrupt(context: Any = None) -> None:
    """Make Ctrl-C (SIGINT) cancel the Spark jobs of ``context`` (the ``SparkContext`` srnskit
    started; None while it starts: a Ctrl-C then waits for the start to end, as the JVM's
    launch cannot be broken off without leaving it running) and then raise
    ``KeyboardInterrupt`` in the main thread once it is out of the bridge (module docstring).
    Called again once the context exists (PySpark sets its own handler as it makes it). Does
    nothing outside the main thread (Python lets only the main thread set a signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if context is not None:
        _HANDLER.context = context
    signal.signal(signal.SIGINT, _HANDLER)


def take_interrupt() -> bool:
    """Whether a Ctrl-C is being served (the jobs cancelled, ``KeyboardInterrupt`` to come),
    taking it: the caller, which met an error meanwhile (the cancelled job's, not one to
    report), raises ``KeyboardInterrupt`` itself, and none is raised later."""
    with _HANDLER.lock:
        taken, _HANDLER.pending = _HANDLER.pending is not None, None
    return taken


def _on_bridge(frame: FrameType | None) -> bool:
    """Whether the stack ending at ``frame`` is inside PySpark or its Py4J bridge: a call to the
    JVM, a result read back over PySpark's own socket, the JVM's launch."""
    while frame is not None:
        parts = frame.f_code.co_filename.replace("\\", "/").split("/")
        if "py4j" in parts or "pyspark" in parts:
            return True
        frame = frame.f_back
    return False
