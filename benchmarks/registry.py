"""The registry's speed (issue 18): importing 10,000 synthetic children, one-row writes, and
the API under 20 concurrent clients.

1. ``srnskit synth`` writes N synthetic children (``--patients``, default 10,000; the centre
   left empty, so it is the import's), then ``srnskit registry import`` loads them into a new
   registry on SQLite and on PostgreSQL (validation, the audited writes and the derived results
   of every shipped definition set, all in one transaction): wall time and rows per second
   (every row of the cohort's tables).
2. ``srnskit serve`` (``--workers``, default the server's own: one per CPU, at most 4) in a
   subprocess on loopback over each registry. First the floor: ``--clients`` (20) clients read
   ``GET /session`` (the token checked and the user read, no patient data) for a third of
   ``--seconds``. Then the load: the clients read for ``--seconds`` (30) seconds
   ``GET /patients/{id}`` and ``GET /patients/{id}/derived`` of random children. Per route:
   requests, median and p99 latency, errors (any answer but 200, or a failed connection); the
   ratio of a patient read's median to the floor's; the CPU the clients and the server used per
   request (the clients share the machine with the server). The target (issue 18): p99 ≤
   150 ms for a patient read, zero errors.

   The clients (``--client``): ``wrk`` (Debian's package, ``make wrk``: a compiled load
   generator, one keep-alive connection per client, each route's clients in one ``wrk``
   process running ``WRK_SCRIPT``, which GETs random paths of the route and counts answers but
   200), or
   ``python`` (threads of httpx clients, each alternating the routes; on two cores they take
   CPU from the server and lengthen its queue), or ``both`` one after the other; ``auto``
   (the default) is wrk when it is installed. The table says which client measured each row.
3. One-row writes: ``--writes`` (5) times, a data-entry user adds one measurement to a child
   (``POST /patients/{id}/measurements``: validated, audited, derived under every set), alone
   on the server: the median latency.

PostgreSQL: ``registry.testing`` (as the tests): the server at ``SRNSKIT_TEST_PG`` when set,
else one started from Debian's binaries in a temporary folder on a free loopback port; without
either, PostgreSQL is left out and the table says so.

    .venv/bin/python benchmarks/registry.py [--patients 10000] [--clients 20] [--seconds 30]
        [--workers N] [--writes 5] [--client auto|wrk|python|both]

The functions are importable (``benchmarks/web.py`` uses them): ``serve`` starts a server,
``login`` gets a bearer token, ``measure`` runs the clients (``load``: the Python threads,
``wrk_load``: wrk), ``cpu_seconds`` reads a process tree's CPU time, ``p99`` and ``median``
summarise.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from srnskit.registry.testing import free_port, postgres_server, scratch_database

SRNSKIT = str(Path(sys.executable).parent / "srnskit")
PASSWORD = "benchmark password"
TABLES = ("patients", "measurements", "treatments", "adverse_events", "events")
TARGET_P99_MS = 150.0  # issue 18: a patient read's p99 on loopback
# A route of the load: its name, and the path it reads given a random generator.
Route = tuple[str, Callable[[random.Random], str]]
CLIENTS = ("auto", "wrk", "python", "both")
WRK = shutil.which("wrk")
PATHS_PER_ROUTE = 5_000  # random paths drawn per route for wrk, which picks among them
# wrk's script: GET a random line of the file args[1] (one path a line, read at start), count
# answers but 200, and print one JSON line: requests, errors, latency percentiles (µs).
WRK_SCRIPT = r"""
local paths, threads = {}, {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  bad = 0
end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, b + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclasses.dataclass(frozen=True)
class Measured:
    """One route's requests, median and p99 latency (ms) and errors in a run."""

    requests: int
    median: float
    p99: float
    errors: int


@dataclasses.dataclass(frozen=True)
class Run:
    """A run of the clients: each route's ``Measured``, the clients' and the server's CPU
    milliseconds per request, and which client measured (``wrk`` or ``python``)."""

    routes: dict[str, Measured]
    cpu_client_ms: float
    cpu_server_ms: float
    client: str
    workers_replaced: int = 0


@contextmanager
def postgres() -> Iterator[str | None]:
    """A new database's URL on a PostgreSQL server (given or started), or None."""
    with postgres_server() as server:
        if server is None:
            yield None
            return
        with scratch_database(server, "srnskit_bench") as url:
            yield url


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
    """Run ``srnskit ARGS``; stop the benchmark with its output if it fails."""
    done = subprocess.run([SRNSKIT, *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"srnskit {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")


def import_into(url: str, cohort: Path) -> float:
    """Migrate, add a viewer of every centre (``bench``) and a data-entry user of BENCH
    (``bench_writer``), import ``cohort`` into centre BENCH: seconds of the import alone."""
    run("db", "upgrade", "--db", url)
    for name, role, center in (("bench", "viewer", "*"), ("bench_writer", "data_entry", "BENCH")):
        run("users", "add", name, "--role", role, "--center", center, "--password-stdin",
            "--db", url, stdin=PASSWORD + "\n")  # fmt: skip
    started = time.perf_counter()
    run("registry", "import", str(cohort), "--center", "BENCH", "--db", url)
    return time.perf_counter() - started


def patient_ids(url: str) -> list[str]:
    """Every patient id of the registry at ``url``."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        ids = list(connection.execute(sa.text("SELECT patient_id FROM patients")).scalars())
    engine.dispose()
    return ids


@contextmanager
def serve(url: str, workers: int | None = None) -> Iterator[tuple[str, int]]:
    """``srnskit serve`` over ``url`` on a free loopback port (``workers`` processes, else the
    server's default), stopped on exit: ``(base URL of the API, the server's process id)``,
    once it answers. Raises ``SystemExit`` if it does not start within 300 s (workers load
    the library; on a shared machine that takes minutes)."""
    port = free_port()
    command = [SRNSKIT, "serve", "--db", url, "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("srnskit serve did not start") from None
                time.sleep(0.2)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def login(base: str, user: str = "bench", password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a bearer token for ``user`` (``POST /token``)."""
    answer = httpx.post(f"{base}/token", data={"username": user, "password": password}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def children_of(pid: int) -> set[int]:
    """The process ids of ``pid``'s children alive now (a server's worker processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``, its children alive now (a
    server's worker processes) and its children that ended (a worker replaced: its time is
    then the parent's ``cutime``/``cstime``), from /proc."""
    total = 0.0
    for each in [pid, *children_of(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks = int(fields[11]) + int(fields[12])
        if each == pid:
            ticks += int(fields[13]) + int(fields[14])
        total += ticks / os.sysconf("SC_CLK_TCK")
    return total


def client_loop(
    base: str, headers: Mapping[str, str], routes: list[Route], stop_at: float, seed: int
) -> dict[str, list[float]]:
    """One client: until ``stop_at`` (``time.monotonic``), GET the ``routes`` in turn (the
    first one chosen by ``seed``), each on its own keep-alive connection's next request:
    latencies (ms) per route name, and ``errors`` (any answer but 200, a failed request), also
    per route as ``errors:NAME``."""
    draw = random.Random(seed)
    latencies: dict[str, list[float]] = {name: [] for name, _ in routes}
    latencies["errors"] = []
    latencies.update({f"errors:{name}": [] for name, _ in routes})
    turn = seed % len(routes)
    with httpx.Client(base_url=base, headers=dict(headers), timeout=30) as http:
        while time.monotonic() < stop_at:
            name, path = routes[turn]
            target = path(draw)
            started = time.perf_counter()
            try:
                ok = http.get(target).status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                latencies[name].append(elapsed)
            else:
                latencies["errors"].append(elapsed)
                latencies[f"errors:{name}"].append(elapsed)
            turn = (turn + 1) % len(routes)
    return latencies


def load(
    base: str,
    headers: Mapping[str, str],
    routes: list[Route],
    clients: int,
    seconds: float,
    server_pid: int | None = None,
) -> dict[str, list[float]]:
    """``clients`` threads running ``client_loop`` for ``seconds``: latencies (ms) per route
    and ``errors``, plus ``cpu_client_ms`` and (given ``server_pid``) ``cpu_server_ms``, each
    one value: CPU milliseconds per request of this process and of the server."""
    results: dict[str, list[float]] = {name: [] for name, _ in routes}
    results["errors"] = []
    results.update({f"errors:{name}": [] for name, _ in routes})
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        mine = client_loop(base, headers, routes, stop_at, seed)
        with lock:
            for key, values in mine.items():
                results[key] += values

    own, server = time.process_time(), cpu_seconds(server_pid) if server_pid else 0.0
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    requests = max(1, sum(len(v) for k, v in results.items() if not k.startswith("errors:")))
    results["cpu_client_ms"] = [(time.process_time() - own) * 1000 / requests]
    if server_pid:
        results["cpu_server_ms"] = [(cpu_seconds(server_pid) - server) * 1000 / requests]
    return results


def wrk_load(
    base: str,
    headers: Mapping[str, str],
    routes: list[Route],
    clients: int,
    seconds: float,
    server_pid: int,
    folder: Path,
) -> Run:
    """The ``clients`` as wrk's connections for ``seconds``: each route gets its share of them
    (20 clients over 3 routes: 7, 7 and 6) in its own wrk process, all at once, reading
    ``PATHS_PER_ROUTE`` paths drawn from the route (written under ``folder``). Latencies are
    wrk's (exact percentiles of every request); the clients' CPU is the wrk processes'."""
    if WRK is None:
        raise SystemExit("wrk is not installed: apt-get install wrk, or --client python")
    script = folder / "paths.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    root = base.removesuffix(urlsplit(base).path)
    prefix = urlsplit(base).path
    command = [WRK, "-t1", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    draw = random.Random(3)
    shares = [clients // len(routes) + (n < clients % len(routes)) for n in range(len(routes))]
    started = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = cpu_seconds(server_pid)
    running = {}
    for (name, path), share in zip(routes, shares, strict=True):
        if share == 0:
            continue
        paths = folder / f"paths-{name}.txt"
        paths.write_text("".join(f"{prefix}{path(draw)}\n" for _ in range(PATHS_PER_ROUTE)))
        running[name] = subprocess.Popen(
            [*command, f"-c{share}", root, "--", str(paths)], stdout=subprocess.PIPE, text=True
        )
    measured = {}
    for name, process in running.items():
        out, _ = process.communicate()
        if process.returncode != 0 or not out.strip():
            raise SystemExit(f"wrk failed for {name}: {out[-500:]}")
        summary = json.loads(out.strip().splitlines()[-1])
        measured[name] = Measured(
            summary["requests"],
            summary["p50_us"] / 1000,
            summary["p99_us"] / 1000,
            summary["errors"],
        )
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    requests = max(1, sum(m.requests for m in measured.values()))
    client_cpu = (ended.ru_utime + ended.ru_stime) - (started.ru_utime + started.ru_stime)
    server_cpu = cpu_seconds(server_pid) - server
    return Run(measured, client_cpu * 1000 / requests, server_cpu * 1000 / requests, "wrk")


def measure(
    client: str,
    base: str,
    headers: Mapping[str, str],
    routes: list[Route],
    clients: int,
    seconds: float,
    server_pid: int,
    folder: Path,
) -> Run:
    """A run of ``clients`` clients for ``seconds`` with ``client`` (``wrk`` or ``python``),
    with how many of the server's worker processes were replaced meanwhile (uvicorn replaces
    one that misses its health check: a sign of a starved machine)."""
    workers = children_of(server_pid)
    if client == "wrk":
        run = wrk_load(base, headers, routes, clients, seconds, server_pid, folder)
        return dataclasses.replace(run, workers_replaced=len(workers - children_of(server_pid)))
    results = load(base, headers, routes, clients, seconds, server_pid)
    replaced = len(workers - children_of(server_pid))
    measured = {
        name: Measured(
            len(results[name]),
            median(results[name]),
            p99(results[name]),
            len(results[f"errors:{name}"]),
        )
        for name, _ in routes
    }
    cpu = results["cpu_client_ms"][0], results["cpu_server_ms"][0]
    return Run(measured, *cpu, "python", replaced)


def clients_of(choice: str) -> list[str]:
    """The clients ``--client`` asks for: ``auto`` is wrk when installed, else python."""
    if choice == "both":
        return ["wrk", "python"] if WRK else ["python"]
    if choice == "auto":
        return ["wrk" if WRK else "python"]
    return [choice]


def patient_routes(ids: list[str]) -> list[Route]:
    """The load's two routes over random children of ``ids``: a patient read and its derived
    results."""
    return [
        ("patient", lambda draw: f"/patients/{draw.choice(ids)}"),
        ("derived", lambda draw: f"/patients/{draw.choice(ids)}/derived"),
    ]


def p99(values: list[float]) -> float:
    """The 99th percentile (NaN for none)."""
    return statistics.quantiles(values, n=100, method="inclusive")[98] if values else float("nan")


def median(values: list[float]) -> float:
    """The median (NaN for none)."""
    return statistics.median(values) if values else float("nan")


def write_latencies(base: str, ids: list[str], writes: int) -> list[float]:
    """``writes`` one-row writes, one at a time, by the data-entry user: each adds a
    measurement to a different child. Milliseconds each, after one write not counted (the
    workers warm the engine before they serve, but the user's first write still is its
    first; one connection stays with one worker). Raises ``SystemExit`` on a failure."""
    headers = login(base, "bench_writer")
    latencies = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for n, pid in enumerate(random.Random(11).sample(ids, writes + 1)):
            day = (dt.date.today() - dt.timedelta(days=n + 1)).isoformat()  # past, after birth
            row = {"date": day, "analyte": "upcr", "value": 0.1, "unit": "mg/mg"}
            started = time.perf_counter()
            answer = http.post(f"/patients/{pid}/measurements", json=row)
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 201:
                raise SystemExit(f"a write answered {answer.status_code}: {answer.text[:500]}")
    return latencies[1:]


def _loadavg() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--client", choices=CLIENTS, default="auto")
    options = parser.parse_args()
    chosen = clients_of(options.client)
    with tempfile.TemporaryDirectory(prefix="srnskit-bench-") as scratch, postgres() as pg:
        folder = Path(scratch)
        cohort = folder / "cohort"
        rows = synthesize(cohort, options.patients)
        print(f"{options.patients:,} synthetic children, {rows:,} rows; load {_loadavg()}")
        databases = {"SQLite": f"sqlite:///{folder / 'registry.db'}", "PostgreSQL": pg}
        print("\nimport (srnskit registry import: validate, write audited, derive 3 sets)")
        print(f"{'database':<11} {'seconds':>8} {'rows/s':>9}")
        for name, url in databases.items():
            if url is None:
                print(f"{name:<11} {'not run: no PostgreSQL server or binaries':>18}")
                continue
            seconds = import_into(url, cohort)
            print(f"{name:<11} {seconds:8.1f} {rows / seconds:9,.0f}   (load {_loadavg()})")
        print(
            f"\nAPI: {options.clients} clients on loopback ({' then '.join(chosen)}), floor "
            f"{options.seconds / 3:.0f} s then reads {options.seconds:.0f} s (target: p99 ≤ "
            f"{TARGET_P99_MS:.0f} ms for a patient read, no errors)"
        )
        header = ("database", "client", "route", "requests", "median ms", "p99 ms", "errors",
                  "cpu ms/req")  # fmt: skip
        print("{:<11} {:<7} {:<26} {:>8} {:>10} {:>8} {:>7} {:>16}".format(*header))
        session_route: list[Route] = [("session", lambda _: "/session")]
        for name, url in databases.items():
            if url is None:
                continue
            ids = patient_ids(url)
            routes = patient_routes(ids)
            with serve(url, options.workers) as (base, pid):
                headers = login(base)
                runs = []
                for client in chosen:
                    floor = measure(
                        client, base, headers, session_route, options.clients,
                        options.seconds / 3, pid, folder,
                    )  # fmt: skip
                    reads = measure(
                        client, base, headers, routes, options.clients, options.seconds, pid,
                        folder,
                    )  # fmt: skip
                    runs.append((floor, reads, _loadavg()))
                written = write_latencies(base, ids, options.writes)
            for floor, reads, after in runs:
                for kind, route, run in (
                    ("session", "/session (floor)", floor),
                    ("patient", "/patients/{id}", reads),
                    ("derived", "/patients/{id}/derived", reads),
                ):
                    m = run.routes[kind]
                    cpu = f"{run.cpu_client_ms:.1f} + {run.cpu_server_ms:.1f}"
                    print(
                        f"{name:<11} {run.client:<7} {'GET ' + route:<26} {m.requests:8} "
                        f"{m.median:10.1f} {m.p99:8.1f} {m.errors:7} {cpu:>16}"
                    )
                ratio = reads.routes["patient"].median / floor.routes["session"].median
                replaced = floor.workers_replaced + reads.workers_replaced
                print(
                    f"{name:<11} {reads.client:<7} a patient read's median is {ratio:.1f} × "
                    f"the floor's; load average after {after}"
                    + (f"; {replaced} worker(s) replaced by uvicorn" if replaced else "")
                )
            print(
                f"{name:<11} one-row write (POST measurements) median {median(written):.0f} ms "
                f"of {len(written)}"
            )
        print(f"load average after: {_loadavg()}; cores: {os.cpu_count()}")
        print("cpu ms/req: the clients' CPU + the server's, per request of the run")


if __name__ == "__main__":
    main()
