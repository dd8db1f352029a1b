"""The registry's pages under load (issue 19): 20 concurrent clients on loopback for 30 s.

1. ``srnskit synth`` writes ``--patients`` (1,000) synthetic children, imported into a new SQLite
   registry (``srnskit registry import``: validated, audited, derived under every shipped set),
   with a viewer of every centre.
2. ``srnskit serve`` (``--workers``, default the server's own) in a subprocess on loopback;
   ``--clients`` (20) threads, each with its own keep-alive connection and the viewer's token,
   read for ``--seconds`` (30) seconds, in turn: a random child's timeline
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

The server start, the clients' loop and the summaries are benchmarks/registry.py's
(``serve``, ``load``, ``p99``, ``median``): only the routes differ.

    .venv/bin/python benchmarks/web.py [--patients 1000] [--clients 20] [--seconds 30]
        [--workers N]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path

import httpx2 as httpx

from registry import (
    TARGET_P99_MS,
    Route,
    import_into,
    load,
    login,
    median,
    p99,
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
        with serve(url, options.workers) as (api, pid):
            headers = login(api)
            base = api.removesuffix("/api/v1")
            routes = page_routes(ids)
            probe(base, headers, routes)
            results = load(base, headers, routes, options.clients, options.seconds, pid)
        print(
            f"\npages: {options.clients} clients on loopback for {options.seconds:.0f} s, "
            f"{options.workers or 'default'} worker(s) (target: p99 ≤ {TARGET_P99_MS:.0f} ms "
            "for the timeline and the list, no errors)"
        )
        floor = median(results[FLOOR])
        header = ("route", "requests", "median ms", "p99 ms", "× floor")
        print("{:<34} {:>8} {:>10} {:>8} {:>8}".format(*header))
        for name, _ in routes:
            values = results[name]
            print(
                f"{SHOWN[name]:<34} {len(values):8} {median(values):10.1f} "
                f"{p99(values):8.1f} {median(values) / floor:8.1f}"
            )
        print(f"errors: {len(results['errors'])}")
        print(
            f"CPU per request: clients {results['cpu_client_ms'][0]:.1f} ms, "
            f"server {results['cpu_server_ms'][0]:.1f} ms; "
            f"load average after {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
