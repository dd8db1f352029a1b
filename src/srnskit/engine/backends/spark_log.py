"""Spark's JVM log: what Spark writes while it starts is kept off the terminal, and shown, with
its root cause named, when Spark does not start (``spark.spark_session``)."""

from __future__ import annotations

import atexit
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["jvm_log", "replay", "root_cause"]


@contextmanager
def jvm_log() -> Iterator[Path]:
    """This process's standard error (file descriptor 2) pointed at a log file while Spark's
    JVM is started, then restored: the JVM inherits the file, so its start-up lines (the
    JVM's note on incubator modules, log4j's profile, Hadoop's native-library warning) and
    any line Spark or its Python workers write later stay off the user's terminal, where
    srnskit says what failed itself. Yields the file's path (``srnskit-spark-PID.log`` in the
    temporary folder), removed when the process exits."""
    log = Path(tempfile.gettempdir()) / f"srnskit-spark-{os.getpid()}.log"
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    try:
        with log.open("wb") as file:  # one JVM a process: a reused PID's old log is not read
            os.dup2(file.fileno(), 2)
        atexit.register(log.unlink, missing_ok=True)
        yield log
    except KeyboardInterrupt:
        raise  # the user's Ctrl-C: no message of Spark's to show
    except BaseException:
        failed = True
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if failed:
            replay(log)  # Spark's own message, when it did not start


def replay(log: Path) -> str | None:
    """Spark's lines of ``log`` written to standard error: its own message when it does not
    start, which the ``UsageError`` that follows points at ("Spark's messages are above").
    Returns the root cause the log names (``root_cause``), or None."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    sys.stderr.write(text)
    sys.stderr.flush()
    return root_cause(text)


def root_cause(text: str) -> str | None:
    """The last Java exception's message in Spark's log ``text`` (the last ``Caused by:``
    line, or else the last line naming an exception), without its class name, with what it
    usually means for a master: "Connection refused (nothing answers at that address: is the
    master running, and is its port right?)". None when the log names no exception."""
    lines = [line.strip() for line in text.splitlines()]
    caused = [
        line.removeprefix("Caused by:").strip() for line in lines if line.startswith("Caused by:")
    ]
    named = caused or [line for line in lines if _EXCEPTION.match(line)]
    if not named:
        return None
    found = _EXCEPTION.match(named[-1])
    detail = (found.group(2) or "").strip() if found else ""
    message = detail or named[-1]
    for words, meaning in _MEANINGS:
        if words in named[-1]:
            return f"{message} ({meaning})"
    return message


# A Java exception as a log prints it: its class (dotted, ending in Exception or Error), then
# its message after ': '.
_EXCEPTION = re.compile(r"^((?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*(?:Exception|Error))(?::(.*))?$")
_MEANINGS = (
    (
        "ConnectException",
        "nothing answers at that address: is the master running, and is its port right?",
    ),
    ("UnknownHostException", "no such host: is the master's name spelled right?"),
)
