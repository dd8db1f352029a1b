"""Spark configured by its user (docs/scale.md): the user's ``spark-defaults.conf`` and
``--spark-conf KEY=VALUE`` win over srnskit's defaults, which apply only to keys neither sets.

Spark reads its configuration once per process (when its JVM starts), so each configuration is
a fresh Python process (``_session_in_subprocess``) that reports the running session's effective
settings (``spark.conf.get``) and the driver JVM's actual heap; a ``SPARK_CONF_DIR`` of the
test's own makes the user's file a known one (or none). The malformed flags need no Spark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from srnskit.engine.backends.spark import parse_spark_conf
from srnskit.errors import UsageError

DEMO = Path(__file__).parents[2] / "src" / "srnskit" / "examples" / "demo"
KEYS = [
    "spark.master",
    "spark.app.name",
    "spark.driver.memory",
    "spark.sql.shuffle.partitions",
    "spark.sql.autoBroadcastJoinThreshold",
    "spark.ui.enabled",
    "spark.ui.showConsoleProgress",
    "spark.driver.host",
    "spark.sql.session.timeZone",
]
# Starts the session with the flags given as arguments, prints its settings, the driver's heap
# and what a second call with another configuration says.
CHILD = f"""
import json, sys
from srnskit.engine.backends.spark import parse_spark_conf, spark_session
from srnskit.errors import UsageError
session = spark_session(None, parse_spark_conf(sys.argv[1:]))
report = {{key: session.conf.get(key) for key in {KEYS!r}}}  # unset: Spark's default
runtime = session.sparkContext._jvm.java.lang.Runtime.getRuntime()
report["heap_mb"] = runtime.maxMemory() / 2**20
report["same"] = spark_session(None, parse_spark_conf(sys.argv[1:])) is session
refused = []
for master, conf in (("local[3]", {{}}), (None, {{"spark.sql.shuffle.partitions": "5"}})):
    try:
        spark_session(master, conf)
    except UsageError as exc:
        refused.append(str(exc))
report["refused"] = refused
print("REPORT " + json.dumps(report))
"""


def _session_in_subprocess(conf_dir: Path, *flags: str) -> dict[str, Any]:
    """The effective settings of a session started in a new process with ``conf_dir`` as
    ``SPARK_CONF_DIR`` and ``flags`` as ``--spark-conf`` items."""
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_MASTER", "MASTER")}
    env.pop("SPARK_DRIVER_MEMORY", None)
    env["SPARK_CONF_DIR"] = str(conf_dir)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *flags],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0, done.stderr[-3000:]
    assert lines, done.stdout[-3000:]
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("REPORT "))
    report["stderr"] = done.stderr
    return report


@pytest.mark.spark
def test_without_user_configuration_the_local_defaults_apply(tmp_path: Path) -> None:
    # An empty SPARK_CONF_DIR: no spark-defaults.conf, no flags
    report = _session_in_subprocess(tmp_path)
    assert report["spark.master"] == "local[2]"
    assert report["spark.app.name"] == "srnskit"
    assert report["spark.driver.memory"] == "4g"
    assert 3.5 * 1024 < report["heap_mb"] <= 4 * 1024  # the JVM really got 4 GB
    assert report["spark.sql.shuffle.partitions"] == "4"
    assert report["spark.ui.enabled"] == "false"
    assert report["spark.ui.showConsoleProgress"] == "false"
    assert report["spark.driver.host"] == "127.0.0.1"
    assert report["spark.sql.session.timeZone"] == "UTC"
    # Spark's own default (10 MB), untouched by srnskit
    assert report["spark.sql.autoBroadcastJoinThreshold"] == "10485760b"
    # Nothing of Spark's start on the terminal: the JVM's note on incubator modules, log4j's
    # profile and Hadoop's native-library warning went to a log file, removed at exit.
    assert report["stderr"] == ""


@pytest.mark.spark
def test_the_users_file_beats_the_defaults_and_a_flag_beats_the_file(tmp_path: Path) -> None:
    (tmp_path / "spark-defaults.conf").write_text(
        "# a network's own settings\n"
        "spark.driver.memory            1g\n"
        "spark.sql.shuffle.partitions   7\n"
        "spark.sql.autoBroadcastJoinThreshold=1234\n"
        "spark.ui.showConsoleProgress   true\n"
        "spark.sql.session.timeZone     Europe/Paris\n"
        "spark.log.level                WARN\n"
    )
    report = _session_in_subprocess(tmp_path, "spark.sql.shuffle.partitions=9")
    # The user asked for Spark's log lines: the file is kept, and named once.
    said = "srnskit: Spark's log is written to "
    assert report["stderr"].startswith(said), report["stderr"]
    log = Path(report["stderr"].removeprefix(said).strip())
    written = log.read_text(encoding="utf-8")  # Spark's start-up lines, at the least
    assert "log4j" in written or "native-hadoop" in written, written
    log.unlink()
    assert report["spark.driver.memory"] == "1g"  # file > default (4g)
    assert 0.75 * 1024 < report["heap_mb"] <= 1024  # ... in the JVM's heap too
    assert report["spark.sql.shuffle.partitions"] == "9"  # flag > file (7) > default (4)
    assert report["spark.sql.autoBroadcastJoinThreshold"] == "1234"  # the file alone
    assert report["spark.ui.enabled"] == "false"  # a default the file leaves alone
    # spark-submit turns the progress bar on for pyspark itself: only a flag turns it on
    assert report["spark.ui.showConsoleProgress"] == "false"
    assert report["spark.sql.session.timeZone"] == "UTC"  # fixed: the engine computes in UTC
    # One session per process: the same configuration is the same session, another is refused
    assert report["same"] is True
    assert report["refused"] == [
        "Spark already runs in this process with spark.master=local[2]; Spark reads its "
        "configuration once per process, so spark.master=local[3] needs a new process",
        "Spark already runs in this process with spark.sql.shuffle.partitions=9; Spark reads "
        "its configuration once per process, so spark.sql.shuffle.partitions=5 needs a new "
        "process",
    ]


def test_spark_conf_items_are_read_as_spark_submit_reads_them() -> None:
    settings = parse_spark_conf(
        [
            "spark.executor.memory=4g",
            "spark.hadoop.fs.s3a.endpoint = http://minio:9000",
            "spark.driver.extraJavaOptions=-Dkey=value",
            "spark.executor.memory=8g",  # a later item wins
        ]
    )
    assert settings == {
        "spark.executor.memory": "8g",
        "spark.hadoop.fs.s3a.endpoint": "http://minio:9000",
        "spark.driver.extraJavaOptions": "-Dkey=value",
    }


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("spark.executor.memory", "expected KEY=VALUE"),
        ("=4g", "expected KEY=VALUE"),
        ("executor.memory=4g", "'executor.memory' is not a Spark property"),
    ],
)
def test_a_malformed_spark_conf_is_a_usage_error_naming_it(
    cli: Any, tmp_path: Path, item: str, reason: str
) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_spark_conf(["spark.ui.enabled=true", item])
    result = cli(
        "derive", DEMO, "--out", tmp_path / "out", "--engine", "spark", "--spark-conf", item
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"srnskit: error: --spark-conf {item!r}: {reason}")
    assert not (tmp_path / "out").exists()


def test_a_fixed_setting_cannot_be_changed(cli: Any, tmp_path: Path) -> None:
    result = cli(
        "derive", DEMO, "--out", tmp_path / "out", "--engine", "spark",
        "--spark-conf", "spark.sql.session.timeZone=Europe/Paris",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        "srnskit: error: --spark-conf spark.sql.session.timeZone=Europe/Paris: srnskit runs "
        "Spark with spark.sql.session.timeZone=UTC\n"
    )


@pytest.mark.parametrize(
    "options", [["--spark-master", "local[4]"], ["--spark-conf", "spark.ui.enabled=true"]]
)
def test_spark_options_need_the_spark_engine(cli: Any, tmp_path: Path, options: list[str]) -> None:
    result = cli("derive", DEMO, "--out", tmp_path / "out", *options)
    assert result.exit_code == 2
    assert result.stderr == "srnskit: error: --spark-master and --spark-conf need --engine spark\n"
    assert not (tmp_path / "out").exists()
