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
working bridge and the command ends as Ctrl-C ends any other (exit code 130, nothing printed).
"""

from __future__ import annotations

import _thread
import contextlib
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


class _Handler:
    """The SIGINT handler of a process whose Spark session srnskit started."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.pending = threading.Event()  # a Ctrl-C not yet delivered
        self.helper: threading.Thread | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not _on_bridge(frame):
            self.pending.clear()
            raise KeyboardInterrupt
        self.pending.set()
        if self.helper is not None:
            return  # a second Ctrl-C while the first is being served
        self.helper = threading.Thread(target=self._cancel, name="srnskit-interrupt", daemon=True)
        self.helper.start()

    def _cancel(self) -> None:
        main = threading.main_thread().ident
        off_since: float | None = None
        while self.pending.is_set() and main is not None:
            if _on_bridge(sys._current_frames().get(main)):
                # Cancelled while the main thread is on the bridge, again and again: a job it
                # starts after the Ctrl-C (the next check's) is cancelled too.
                with contextlib.suppress(Exception):  # the JVM already gone: nothing to cancel
                    self.context.cancelAllJobs()
                off_since = None
            elif off_since is None:
                off_since = time.monotonic()
            elif time.monotonic() - off_since >= _SETTLED_SECONDS:
                break
            time.sleep(_POLL_SECONDS)
        self.helper = None
        if not self.pending.is_set():
            return  # delivered meanwhile, as the cancelled job's error (``take_interrupt``)
        # The handler is called again: out of the bridge, it raises KeyboardInterrupt; back on
        # it already (a clean-up's call), it starts this again.
        _thread.interrupt_main(signal.SIGINT)


_HANDLERS: list[_Handler] = []


def install_interrupt(context: Any) -> None:
    """Make Ctrl-C (SIGINT) cancel the Spark jobs of ``context`` (a ``SparkContext`` srnskit
    started) and then raise ``KeyboardInterrupt`` in the main thread once it is out of the
    Py4J bridge (module docstring). Does nothing outside the main thread (Python lets only the
    main thread set a signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        return
    handler = _Handler(context)
    signal.signal(signal.SIGINT, handler)
    _HANDLERS[:] = [handler]


def take_interrupt() -> bool:
    """Whether a Ctrl-C is being served (the jobs cancelled, ``KeyboardInterrupt`` to come),
    taking it: the caller, which met an error meanwhile (the cancelled job's, not one to
    report), raises ``KeyboardInterrupt`` itself, and none is raised later."""
    taken = False
    for handler in _HANDLERS:
        taken = taken or handler.pending.is_set()
        handler.pending.clear()
    return taken


def _on_bridge(frame: FrameType | None) -> bool:
    """Whether the stack ending at ``frame`` is inside a call over the Py4J bridge."""
    while frame is not None:
        if "py4j" in frame.f_code.co_filename.replace("\\", "/").split("/"):
            return True
        frame = frame.f_back
    return False
