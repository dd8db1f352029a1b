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
    """The root cause of the last error in Spark's log ``text``: the last line naming a Java
    exception that is not a ``Caused by:`` (spark-submit's ``Exception in thread "main" …``
    too), followed down its ``Caused by:`` lines to the last; its message, or its class when
    the message is empty, with what it usually means for a master: "Connection refused
    (nothing answers at that address: is the master running, and is its port right?)". None
    when the log names no exception."""
    chain: list[re.Match[str]] = []
    for line in (line.strip() for line in text.splitlines()):
        caused = line.startswith("Caused by:")
        found = _EXCEPTION.search(line.removeprefix("Caused by:").strip())
        if found and not caused:
            chain = [found]  # a new error: its own chain starts
        elif found and chain:
            chain.append(found)
    if not chain:
        return None
    root = chain[-1]
    kind, detail = root.group(1), (root.group(2) or "").strip()
    message = detail or kind
    for name, words, meaning in _MEANINGS:
        if kind.endswith("." + name) and words in detail:
            return f"{message} ({meaning})"
    return message


# A Java exception as a log prints it: its class (dotted, ending in Exception or Error), then
# its message after ': ' (spark-submit's 'Exception in thread "main" ' may come first).
_EXCEPTION = re.compile(
    r"(?:^|\s)((?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*(?:Exception|Error))(?::(.*))?$"
)
# What an exception usually means when Spark reaches for its master: its class, words of
# its message, the meaning.
_MEANINGS = (
    (
        "ConnectException",
        "refused",
        "nothing answers at that address: is the master running, and is its port right?",
    ),
    (
        "ConnectException",
        "timed out",
        "no answer in time: is the host reachable from here, or does a firewall stop it?",
    ),
    ("UnknownHostException", "", "no such host: is the master's name spelled right?"),
)
