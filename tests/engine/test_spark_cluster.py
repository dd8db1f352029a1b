"""srnskit on a real Spark cluster: a standalone master and two workers on loopback
(``spark_cluster.standalone_cluster``, pyspark's own ``spark-class``), started once for this
module and stopped at its end, failed or not.

``srnskit derive --engine spark --spark-master spark://…`` runs as a user runs it (a separate
process, configured with ``--spark-conf``) on a synthetic cohort (40 children, seed 3, as
``srnskit synth --patients 40 --seed 3`` writes it) and writes the same bytes as DuckDB. Spark's
event log of that run shows what the driver received: each cohort table reaches Spark as a
Parquet relation its executors read, and no Spark job returns to the driver as many bytes as the
measurements table holds even in Parquet, its most compact form (collecting it would).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from srnskit.cohort import read_cohort
from srnskit.schema import COHORT_TABLES
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile
from tests.engine.derived_parquet import assert_same_derived_parquet
from tests.engine.spark_cluster import Cluster, standalone_cluster

pytestmark = pytest.mark.spark

SRNSKIT = str(Path(sys.executable).parent / "srnskit")
TODAY = "2026-11-28"  # the reference date of both runs (--today)


@dataclass(frozen=True)
class Run:
    """One ``srnskit derive`` on the cluster: its outputs, its event log, the master's state."""

    out: Path
    events: list[dict[str, Any]]
    state: dict[str, Any]


def _environment(conf_dir: Path) -> dict[str, str]:
    """A user's shell with no Spark configuration of its own (an empty ``SPARK_CONF_DIR``),
    on loopback as the cluster is."""
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_MASTER", "MASTER")}
    env.update(SPARK_CONF_DIR=str(conf_dir), SPARK_LOCAL_IP="127.0.0.1")
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic") / "cohort"
    write_synthetic_cohort(folder, profile=load_profile("seed2023"), patients=40, seed=3)
    return folder


@pytest.fixture(scope="module")
def on_duckdb(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("duckdb") / "derived"
    subprocess.run(
        [SRNSKIT, "derive", str(cohort), "--out", str(out), "--today", TODAY],
        check=True,
        capture_output=True,
    )
    return out


def _derive_on(cluster: Cluster, cohort: Path, scratch: Path, *options: str) -> Run:
    """``srnskit derive COHORT --engine spark --spark-master URL OPTIONS…`` run as a user runs
    it, with Spark's event log kept in ``scratch``."""
    (scratch / "conf").mkdir(parents=True)
    (scratch / "events").mkdir()
    out = scratch / "derived"
    settings = {
        # two workers of one core each: two shuffle partitions keep both busy
        "spark.sql.shuffle.partitions": "2",
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": (scratch / "events").as_uri(),
        "spark.eventLog.compress": "false",
        "spark.eventLog.rolling.enabled": "false",
    }
    done = subprocess.run(
        [SRNSKIT, "derive", str(cohort), "--out", str(out), "--today", TODAY, *options]
        + ["--engine", "spark", "--spark-master", cluster.url]
        + [item for key, value in settings.items() for item in ("--spark-conf", f"{key}={value}")],
        capture_output=True,
        text=True,
        env=_environment(scratch / "conf"),
        timeout=1800,
    )
    assert done.returncode == 0, f"{done.stderr[-4000:]}\n{cluster.logs()}"
    (log,) = (scratch / "events").iterdir()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return Run(out, events, cluster.state())


def _plans(events: list[dict[str, Any]]) -> dict[int, str]:
    """Each SQL execution's physical plan as the event log gives it (the adaptive plan's last
    update replacing the first)."""
    plans = {
        e["executionId"]: e["physicalPlanDescription"]
        for e in events
        if e["Event"].endswith("SparkListenerSQLExecutionStart")
    }
    plans.update(
        (e["executionId"], e["physicalPlanDescription"])
        for e in events
        if e["Event"].endswith("SparkListenerSQLAdaptiveExecutionUpdate")
    )
    return plans


@pytest.fixture(scope="module")
def on_cluster(cluster: Cluster, cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _derive_on(cluster, cohort, tmp_path_factory.mktemp("on-cluster"))


def test_derive_on_the_cluster_writes_what_duckdb_writes(on_cluster: Run, on_duckdb: Path) -> None:
    written = sorted(path.name for path in on_duckdb.iterdir())
    assert written == ["courses.csv", "episodes.csv", "flow.json", "patient_outcomes.csv"]
    assert sorted(path.name for path in on_cluster.out.iterdir()) == written
    for name in written:
        assert (on_cluster.out / name).read_bytes() == (on_duckdb / name).read_bytes(), name
    # ... and it ran on the cluster's executors: the master saw the application finish, with a
    # core from each of the two workers
    (started,) = [e for e in on_cluster.events if e["Event"] == "SparkListenerApplicationStart"]
    (app,) = [a for a in on_cluster.state["completedapps"] if a["id"] == started["App ID"]]
    assert (app["name"], app["cores"], app["state"]) == ("srnskit", 2, "FINISHED")
    executors = [e for e in on_cluster.events if e["Event"] == "SparkListenerExecutorAdded"]
    assert len(executors) == 2


def test_the_driver_never_receives_the_measurements_table(on_cluster: Run, cohort: Path) -> None:
    """What the event log proves: (1) every cohort table enters Spark as a Parquet relation
    (the view srnskit makes of it reads the cohort's Parquet file on the executors), and no
    executed plan holds rows the driver sent (``LocalTableScan``) or runs Python; (2) the bytes
    each Spark job returned to the driver (the task results Spark counts, ``Result Size``:
    collected rows, broadcast tables, accumulators) stay below the measurements table's Parquet
    file, which is smaller than any collect of it (measured on this cohort: 124 KB of Parquet
    against 217 KB for Spark's compressed rows and 782 KB as Arrow), so no job carried that
    table to the driver. It does not prove the same of a table smaller than a job's other
    traffic, nor of a column or two of it."""
    events = on_cluster.events
    plans = _plans(events)
    views = {}
    for plan in plans.values():
        view = re.search(r"CreateViewCommand\n.*?Arguments: `srnskit_(\w+?)_\d+`", plan, re.S)
        if view and view.group(1) in COHORT_TABLES:  # not the steps' views (checkpoints)
            views[view.group(1)] = re.search(r"LogicalRelation\nArguments: (\w+)", plan)
    assert {name: match and match.group(1) for name, match in views.items()} == {
        name: "parquet" for name in COHORT_TABLES
    }
    assert not [plan for plan in plans.values() if "LocalTableScan" in plan]
    # ... and the rules run as Spark SQL: no Python on the executors (docs/scale.md)
    assert not [plan for plan in plans.values() if re.search(r"Python|InPandas|InArrow", plan)]
    # ... nor rows made by Python (createDataFrame of a list: a PythonRDD, which an executed
    # plan shows only as "Scan ExistingRDD", as it shows a checkpoint)
    rdds = [
        rdd["Name"]
        for e in events
        if e["Event"] == "SparkListenerStageSubmitted"
        for rdd in e["Stage Info"]["RDD Info"]
    ]
    assert "MapPartitionsRDD" in rdds  # the stages' RDDs were read
    assert not [name for name in rdds if "Python" in name]

    stage_job = {
        stage: e["Job ID"]
        for e in events
        if e["Event"] == "SparkListenerJobStart"
        for stage in e["Stage IDs"]
    }
    to_driver: Counter[int] = Counter()
    for e in events:
        if e["Event"] == "SparkListenerTaskEnd":
            to_driver[stage_job[e["Stage ID"]]] += e["Task Metrics"]["Result Size"]
    assert len(to_driver) > 50  # the whole derive ran under this log
    with read_cohort(cohort, today=dt.date.fromisoformat(TODAY)) as loaded:
        parquet = Path(loaded.location()["measurements"]).stat().st_size
    job, most = to_driver.most_common(1)[0]
    # measured 2026-12-01: at most 68,539 bytes (a broadcast table) against 124,457
    assert most < parquet, f"job {job} returned {most} bytes to the driver; measurements: {parquet}"


def test_a_parquet_cohort_is_read_and_written_by_the_clusters_executors(
    cluster: Cluster, cohort: Path, tmp_path: Path
) -> None:
    """The network's way (docs/scale.md): the cohort a folder of Parquet files, read where it
    lies by the executors (not by srnskit's process), and ``--format parquet``: each derived
    table written by the executors as part files, with DuckDB's rows from the same files."""
    parquet = tmp_path / "cohort-parquet"
    write_synthetic_cohort(
        parquet, profile=load_profile("seed2023"), patients=40, seed=3, fmt="parquet"
    )
    duckdb = tmp_path / "duckdb"
    command = [SRNSKIT, "derive", str(parquet), "--out", str(duckdb), "--today", TODAY]
    subprocess.run(
        [*command, "--format", "parquet"],
        check=True,
        capture_output=True,
    )
    run = _derive_on(cluster, parquet, tmp_path / "spark", "--format", "parquet")
    assert_same_derived_parquet(run.out, duckdb)
    assert (run.out / "flow.json").read_bytes() == (duckdb / "flow.json").read_bytes()
    # Every cohort table was scanned from the user's own file (no copy of it made first), and
    # no plan holds rows the driver sent.
    plans = _plans(run.events).values()
    scanned = {
        name
        for name in COHORT_TABLES
        if any(f"{parquet.as_uri().removeprefix('file://')}/{name}.parquet" in p for p in plans)
    }
    assert scanned == set(COHORT_TABLES)
    assert not [plan for plan in plans if "LocalTableScan" in plan]
    # ... on the cluster: the executors of both workers wrote the part files
    (started,) = [e for e in run.events if e["Event"] == "SparkListenerApplicationStart"]
    (app,) = [a for a in run.state["completedapps"] if a["id"] == started["App ID"]]
    assert (app["cores"], app["state"]) == (2, "FINISHED")


def test_a_cluster_named_in_spark_defaults_gets_spark_defaults_not_local_ones(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The user's spark-defaults.conf names the cluster (no --spark-master): srnskit's local
    defaults (4 GB driver heap, 4 shuffle partitions) stay out; the driver gets Spark's own."""
    (tmp_path / "spark-defaults.conf").write_text(f"spark.master {cluster.url}\n")
    child = (
        "import json\n"
        "from srnskit.engine.backends.spark import spark_session\n"
        "s = spark_session()\n"
        "heap = s.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20\n"
        "memory = s.sparkContext.getConf().get('spark.driver.memory', None)\n"
        "keys = ('spark.master', 'spark.sql.shuffle.partitions')\n"
        "print('REPORT ' + json.dumps([s.conf.get(k) for k in keys] + [memory, heap]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child],
        capture_output=True,
        text=True,
        env=_environment(tmp_path),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    master, partitions, memory, heap = json.loads(line.removeprefix("REPORT "))
    assert (master, partitions) == (cluster.url, "200")  # Spark's default partitions
    assert memory in (None, "1g")  # Spark's default driver memory is 1g ...
    assert heap <= 1024  # ... which the JVM got, not srnskit's local 4g
