"""The registry's speed (issue 18): importing 10,000 synthetic children, and the API under 20
concurrent clients.

1. ``srnskit synth`` writes N synthetic children (``--patients``, default 10,000; the centre
   left empty, so it is the import's), then ``srnskit registry import`` loads them into a new
   registry on SQLite and on PostgreSQL (validation, the audited writes and the derived results
   of every shipped definition set, all in one transaction): wall time and rows per second
   (every row of the cohort's tables).
2. ``srnskit serve`` in a subprocess on loopback over each registry; ``--clients`` (20) threads,
   each with its own HTTP client and a viewer's bearer token, read for ``--seconds`` (30)
   seconds, alternately ``GET /patients/{id}`` and ``GET /patients/{id}/derived`` of random
   children: requests, median and p99 latency per kind, errors (any answer but 200, or a
   failed connection). The target (issue 18): p99 ≤ 150 ms for a patient read, zero errors.

PostgreSQL: the server at ``SRNSKIT_TEST_PG`` when set, else one started from Debian's binaries
(``/usr/lib/postgresql/*/bin``) in a temporary folder on a free loopback port, as the tests do;
without either, PostgreSQL is left out and the table says so.

    .venv/bin/python benchmarks/registry.py [--patients 10000] [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

SRNSKIT = str(Path(sys.executable).parent / "srnskit")
PASSWORD = "benchmark password"
TABLES = ("patients", "measurements", "treatments", "adverse_events", "events")
TARGET_P99_MS = 150.0  # issue 18: a patient read's p99 on loopback


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres() -> Iterator[str | None]:
    """A new database's URL on a PostgreSQL server (given or started), or None."""
    given = os.environ.get("SRNSKIT_TEST_PG")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not given and not found:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="srnskit-bench-pg-"))
    pg_ctl = ""
    if given:
        server = sa.engine.make_url(given)
    else:
        binaries = Path(found[-1]).parent
        data, sockets = root / "data", root / "sockets"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(sockets, "postgres")
        port = _free_port()
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
        pg_ctl = str(binaries / "pg_ctl")
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
        start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        subprocess.run(_as_postgres(start), check=True, capture_output=True)
        server = sa.URL.create(
            "postgresql+psycopg", "postgres", None, "127.0.0.1", port, "postgres"
        )
    name = f"srnskit_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        if pg_ctl:
            stop = [pg_ctl, "-D", str(root / "data"), "-m", "fast", "-w", "stop"]
            subprocess.run(_as_postgres(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def synthesize(folder: Path, patients: int) -> int:
    """Write ``patients`` synthetic children with an empty centre; returns the rows written."""
    subprocess.run(
        [SRNSKIT, "synth", "--patients", str(patients), "--seed", "7", "--out", str(folder)],
        check=True,
        capture_output=True,
    )
    table = pacsv.read_csv(
        folder / "patients.csv",
        convert_options=pacsv.ConvertOptions(column_types={"center_id": pa.string()}),
    )
    index = table.column_names.index("center_id")
    table = table.set_column(index, "center_id", pa.nulls(table.num_rows, pa.string()))
    pacsv.write_csv(table, folder / "patients.csv")
    rows = 0
    for name in TABLES:
        path = folder / f"{name}.csv"
        if path.exists():
            rows += pacsv.read_csv(path).num_rows
    return rows


def run(*args: str, stdin: str | None = None) -> None:
    done = subprocess.run([SRNSKIT, *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"srnskit {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")


def import_into(url: str, cohort: Path) -> float:
    """Migrate, add a viewer of every centre, import ``cohort`` into centre BENCH: seconds of
    the import alone."""
    run("db", "upgrade", "--db", url)
    run("users", "add", "bench", "--role", "viewer", "--center", "*", "--password-stdin",
        "--db", url, stdin=PASSWORD + "\n")  # fmt: skip
    started = time.perf_counter()
    run("registry", "import", str(cohort), "--center", "BENCH", "--db", url)
    return time.perf_counter() - started


def patient_ids(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        ids = list(connection.execute(sa.text("SELECT patient_id FROM patients")).scalars())
    engine.dispose()
    return ids


def load(url: str, ids: list[str], clients: int, seconds: float) -> dict[str, list[float]]:
    """``clients`` threads reading for ``seconds`` from ``srnskit serve`` over ``url``:
    latencies (ms) per kind, and ``errors`` (one entry per failed request)."""
    port = _free_port()
    server = subprocess.Popen(
        [SRNSKIT, "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = httpx.post(
                    f"{base}/token", data={"username": "bench", "password": PASSWORD}, timeout=5
                )
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("srnskit serve did not start") from None
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        results: dict[str, list[float]] = {"patient": [], "derived": [], "errors": []}
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client(seed: int) -> None:
            draw = random.Random(seed)
            mine: dict[str, list[float]] = {"patient": [], "derived": [], "errors": []}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                kind = "patient" if seed % 2 else "derived"
                while time.monotonic() < stop_at:
                    pid = draw.choice(ids)
                    path = f"/patients/{pid}" + ("/derived" if kind == "derived" else "")
                    started = time.perf_counter()
                    try:
                        ok = http.get(path).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    elapsed = (time.perf_counter() - started) * 1000
                    mine[kind if ok else "errors"].append(elapsed)
                    kind = "derived" if kind == "patient" else "patient"
            with lock:
                for key, values in mine.items():
                    results[key] += values

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="srnskit-bench-") as scratch, postgres() as pg:
        folder = Path(scratch)
        cohort = folder / "cohort"
        rows = synthesize(cohort, options.patients)
        print(
            f"{options.patients:,} synthetic children, {rows:,} rows; load {os.getloadavg()[0]:.1f}"
        )
        databases = {"SQLite": f"sqlite:///{folder / 'registry.db'}", "PostgreSQL": pg}
        print("\nimport (srnskit registry import: validate, write audited, derive 3 sets)")
        print(f"{'database':<11} {'seconds':>8} {'rows/s':>9}")
        for name, url in databases.items():
            if url is None:
                print(f"{name:<11} {'not run: no PostgreSQL server or binaries':>18}")
                continue
            seconds = import_into(url, cohort)
            print(f"{name:<11} {seconds:8.1f} {rows / seconds:9,.0f}")
        print(
            f"\nAPI: {options.clients} clients on loopback for {options.seconds:.0f} s "
            f"(target: p99 ≤ {TARGET_P99_MS:.0f} ms for a patient read, no errors)"
        )
        header = ("database", "route", "requests", "median ms", "p99 ms", "errors")
        print("{:<11} {:<26} {:>8} {:>10} {:>8} {:>7}".format(*header))
        for name, url in databases.items():
            if url is None:
                continue
            results = load(url, patient_ids(url), options.clients, options.seconds)
            errors = len(results["errors"])
            for kind, route in (
                ("patient", "/patients/{id}"),
                ("derived", "/patients/{id}/derived"),
            ):
                values = results[kind]
                print(
                    f"{name:<11} {'GET ' + route:<26} {len(values):8} "
                    f"{statistics.median(values):10.1f} {p99(values):8.1f} {errors:7}"
                )
        print(f"load average after: {os.getloadavg()[0]:.1f}, cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
