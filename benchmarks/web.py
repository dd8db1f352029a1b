"""The registry's pages under load (issue 19): 20 concurrent clients on loopback for 30 s.

1. ``srnskit synth`` writes ``--patients`` (1,000) synthetic children, imported into a new SQLite
   registry (``srnskit registry import``: validated, audited, derived under every shipped set),
   with a viewer of every centre.
2. ``srnskit serve`` (``--workers``, default the server's own) in a subprocess on loopback;
   ``--clients`` (20) clients, each with its own keep-alive connection and the viewer's token,
   read for ``--seconds`` (30) seconds: a random child's timeline
   (``GET /patients/{id}/timeline?definitions=kdigo2021``: the panel with its set switch, here
   as the page holding it, as no ``HX-Request`` header is sent; then
   ``GET /patients/{id}/timeline.json?...``, the Vega-Lite specification drawn from the stored
   rows and derived results, which the browser fetches next), the patient list
   (``GET /patients``, its first page with the derived status columns) and, as the floor, a
   static file (``GET /static/srnskit.css``: the same server, sessions and connections, no
   registry work). Per route: requests, median and p99 latency, errors (any answer but 200, or
   a failed request: must be zero); each route's median over the floor's, measured in the same
   run, so the ratio means something on a busy machine. The target (issue 19): p99 ≤ 150 ms
   for the timeline (panel and specification) and the list.

The server start, the clients and the summaries are benchmarks/registry.py's (``serve``,
``measure``): only the routes differ. ``--client`` as there: ``wrk`` (each route's share of the
clients in its own wrk process, all at once), ``python`` (threads, each taking the routes in
turn), ``both``, or ``auto`` (wrk when installed); the output says which measured.

    .venv/bin/python benchmarks/web.py [--patients 1000] [--clients 20] [--seconds 30]
        [--workers N] [--client auto|wrk|python|both]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path

import httpx2 as httpx

from registry import (
    CLIENTS,
    TARGET_P99_MS,
    Route,
    clients_of,
    import_into,
    login,
    measure,
    patient_ids,
    serve,
    synthesize,
)

QUERY = "definitions=kdigo2021"  # the patient page's first timeline (templates/patient.html)
FLOOR = "floor"
SHOWN = {
    "timeline": "GET /patients/{id}/timeline",
    "spec": "GET /patients/{id}/timeline.json",
    "list": "GET /patients",
    FLOOR: "GET /static/srnskit.css",
}


def page_routes(ids: list[str]) -> list[Route]:
    """The load's routes over random children of ``ids``: the timeline panel and the
    specification the browser then fetches, the patient list and the floor (a static file)."""
    return [
        ("timeline", lambda draw: f"/patients/{draw.choice(ids)}/timeline?{QUERY}"),
        ("spec", lambda draw: f"/patients/{draw.choice(ids)}/timeline.json?{QUERY}"),
        ("list", lambda draw: "/patients"),
        (FLOOR, lambda draw: "/static/srnskit.css"),
    ]


def probe(base: str, headers: dict[str, str], routes: list[Route]) -> None:
    """Each route once before the load; raises ``SystemExit`` with the answer of one that is
    not 200 (an error under load is only counted, this says why)."""
    draw = random.Random(1)
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for name, path in routes:
            answer = http.get(path(draw))
            if answer.status_code != 200:
                main = answer.text.partition("<main")[2].partition("</main>")[0]
                raise SystemExit(f"{name}: {answer.status_code} {(main or answer.text)[:800]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--client", choices=CLIENTS, default="auto")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="srnskit-bench-web-") as scratch:
        folder = Path(scratch)
        rows = synthesize(folder / "cohort", options.patients)
        url = f"sqlite:///{folder / 'registry.db'}"
        seconds = import_into(url, folder / "cohort")
        ids = patient_ids(url)
        print(
            f"{len(ids):,} synthetic children, {rows:,} rows, imported in {seconds:.0f} s; "
            f"load average {os.getloadavg()[0]:.1f}, cores {os.cpu_count()}"
        )
        runs = []
        with serve(url, options.workers) as (api, pid):
            headers = login(api)
            base = api.removesuffix("/api/v1")
            routes = page_routes(ids)
            probe(base, headers, routes)
            for client in clients_of(options.client):
                run = measure(client, base, headers, routes, options.clients, options.seconds,
                              pid, folder)  # fmt: skip
                runs.append((run, os.getloadavg()[0]))
        for run, after in runs:
            print(
                f"\npages: {options.clients} clients ({run.client}) on loopback for "
                f"{options.seconds:.0f} s, {options.workers or 'default'} worker(s) (target: "
                f"p99 ≤ {TARGET_P99_MS:.0f} ms for the timeline and the list, no errors)"
            )
            floor = run.routes[FLOOR].median
            header = ("route", "requests", "median ms", "p99 ms", "errors", "× floor")
            print("{:<34} {:>8} {:>10} {:>8} {:>7} {:>8}".format(*header))
            for name, _ in routes:
                m = run.routes[name]
                print(
                    f"{SHOWN[name]:<34} {m.requests:8} {m.median:10.1f} {m.p99:8.1f} "
                    f"{m.errors:7} {m.median / floor:8.1f}"
                )
            print(
                f"CPU per request: clients {run.cpu_client_ms:.1f} ms, server "
                f"{run.cpu_server_ms:.1f} ms; load average after {after:.1f}"
                + (f"; {run.workers_replaced} worker(s) replaced" if run.workers_replaced else "")
            )


if __name__ == "__main__":
    main()
