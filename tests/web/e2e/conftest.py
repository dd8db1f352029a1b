"""The registry's pages in a real browser: one ``srnskit serve`` and one Chromium for the run.

- ``registry``: a scratch SQLite registry (migrated, users added, cohorts imported through the
  registry's service, as ``srnskit db upgrade/users add/registry import`` do): an admin of
  every centre (``admin``), a data-entry user of centre A (``entry_a``) and one of centre B
  (``entry_b``), an investigator of centre A (``investigator_a``: imports, the dashboard); the
  demo's first twelve centre-A children imported into A, its first three centre-B ones into B.
- ``server``: ``srnskit serve`` over it, in a subprocess on a free loopback port; stopped (SIGINT)
  after the run. Its output goes to a log file printed when it fails to start.
- ``browser``: Debian's Chromium (``/usr/bin/chromium``; ``make pytest`` installs it when missing)
  driven by Playwright. Playwright's own browser download needs the network and is never used.
- ``page``: a fresh context per test (1280 × 900, the server as base URL). Every request is
  recorded; one to any other host is aborted, and the test fails naming it (the pages must work
  on a closed hospital network). Every Content-Security-Policy violation (the page's
  ``securitypolicyviolation`` events and Chromium's console reports of them) and every script
  error the page throws fails the test too: the pages' CSP is 'self'-only, and an inline style
  or script refused in a nurse's browser is a page that half works. ``signed_in(user)`` signs
  the page in through the login form once per user and reuses that session cookie afterwards
  (argon2 takes most of a second a login).
- ``shot(page, name)``: a screenshot of the step, kept in ``out/e2e-screenshots/<test>/`` (the
  folder is printed at the end of the run; CI keeps it). A failing test gets a last one. The
  screenshots of docs/registry.md are steps of these tests, made anew with
  ``SRNSKIT_DOCS_SCREENSHOTS=1 .venv/bin/pytest tests/web/e2e``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from srnskit.examples import path as example_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SRNSKIT = str(Path(sys.executable).parent / "srnskit")
SCREENSHOTS = Path(__file__).parents[3] / "out" / "e2e-screenshots"
DOCS_IMAGES = Path(__file__).parents[3] / "docs" / "img" / "registry"
DOCS_ENV = "SRNSKIT_DOCS_SCREENSHOTS"  # set: the docs' screenshots are made anew
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 60_000
TABLES = ("patients", "measurements", "treatments", "adverse_events", "events")
# The demo's children imported (each derived under every shipped set: about a third of a
# second a child on a quiet machine): enough for a list and a dashboard, quick to set up.
A_CHILDREN = 12
B_CHILDREN = 3


@dataclass(frozen=True)
class User:
    name: str
    role: str
    center: str
    password: str


USERS = {
    "admin": User("admin", "admin", "*", "admin password 19"),
    "entry_a": User("entry_a", "data_entry", "A", "entry-a password 19"),
    "investigator_a": User("investigator_a", "investigator", "A", "investigator password 19"),
    "entry_b": User("entry_b", "data_entry", "B", "entry-b password 19"),
}


@dataclass(frozen=True)
class Registry:
    url: str
    ids: dict[str, list[str]]  # centre → its children's ids, in the demo's order


@dataclass
class Server:
    """``srnskit serve`` started; ``ready()`` waits (once) until it answers."""

    base: str
    host: str
    process: subprocess.Popen[bytes]
    log: Path
    sessions: dict[str, Any] = field(default_factory=dict)  # user → Playwright storage state
    started: bool = False

    def ready(self) -> None:
        deadline = time.monotonic() + 180  # a shared two-core machine can be slow to start it
        while not self.started:
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/openapi.json", timeout=2):
                    self.started = True
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"srnskit serve did not start:\n{self.log.read_text()}")
                time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _demo_part(folder: Path, ids: set[str]) -> None:
    """The demo's rows of the children ``ids`` as a cohort folder (the centre column kept)."""
    demo = example_path("demo")
    folder.mkdir()
    for name in TABLES:
        with (demo / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(rows[0])
            writer.writerows(row for row in rows[1:] if row[0] in ids)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Made in this process through the registry's service, as the command line makes it (its
    start-up costs seconds a command on a busy machine); passwords hashed with a cheap setting
    of argon2id, as the registry's tests do, so each login in the server takes milliseconds."""
    from argon2 import PasswordHasher

    from srnskit.registry.access import Actor
    from srnskit.registry.db import open_registry, upgrade
    from srnskit.registry.imports import import_cohort
    from srnskit.registry.users import add_user

    root = tmp_path_factory.mktemp("e2e-registry")
    url = f"sqlite:///{root / 'registry.db'}"
    upgrade(url)
    with (example_path("demo") / "patients.csv").open(newline="", encoding="utf-8") as handle:
        centers: dict[str, list[str]] = {}
        for row in csv.DictReader(handle):
            centers.setdefault(row["center_id"], []).append(row["patient_id"])
    ids = {"A": centers["A"][:A_CHILDREN], "B": centers["B"][:B_CHILDREN]}
    cheap = PasswordHasher(time_cost=1, memory_cost=1024)
    with (
        pytest.MonkeyPatch.context() as patch,
        open_registry(url) as opened,
        opened.session() as session,
    ):
        patch.setattr("srnskit.registry.users._HASHER", cheap)
        for user in USERS.values():
            add_user(session, Actor.system(), user.name, user.role, [user.center], user.password)
        for center, chosen in ids.items():
            _demo_part(root / center, set(chosen))
            result = import_cohort(
                session,
                Actor.system(),
                root / center,
                center=center,
                today=dt.date.today(),
                commit=True,
            )
            assert result.valid, [str(problem) for problem in result.problems]
        session.commit()
    return Registry(url, ids)


@pytest.fixture(scope="session")
def server(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("e2e-server") / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [SRNSKIT, "serve", "--db", registry.url, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SRNSKIT_DB": ""},
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", process, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make pytest` installs it (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # The machine is shared (two cores, other suites running): a step may take seconds.
    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_folder() -> Iterator[None]:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    yield
    if SCREENSHOTS.exists():
        print(f"\nbrowser screenshots: {SCREENSHOTS}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


class Steps:
    """Numbered screenshots of one test's steps. A step named for the docs (``docs=NAME``) is
    also written to ``docs/img/registry/NAME.png`` when ``SRNSKIT_DOCS_SCREENSHOTS`` is set:
    the window as seen (1280 × 900), reduced to a 256-colour palette (a few tens of KB)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(
        self, page: Any, name: str, *, full_page: bool = False, docs: str | None = None
    ) -> Path:
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if docs is not None and os.environ.get(DOCS_ENV):
            from PIL import Image

            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            window = Image.open(io.BytesIO(page.screenshot()))
            window.convert("RGB").quantize(256).save(DOCS_IMAGES / f"{docs}.png", optimize=True)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Steps:
    return Steps(SCREENSHOTS / request.node.name.replace("/", "_"))


@pytest.fixture
def page(
    server: Server, browser: Any, shot: Steps, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A page in a fresh context; fails the test if anything asked another host. (The server
    is asked for first, so it starts while the browser does.)"""
    server.ready()
    context = browser.new_context(viewport=VIEWPORT, base_url=server.base)
    context.set_default_timeout(TIMEOUT_MS)
    external: list[str] = []
    seen: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        seen.append(url)
        if url.startswith(server.base + "/"):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    context.route("**/*", guard)
    broken = _watch_for_breakage(context)
    opened = context.new_page()
    yield opened
    if request.node.stash.get(_FAILED, False):
        try:
            shot(opened, "failed", full_page=True)
        except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure
            print(f"no screenshot of the failure: {error}")
        print("the server's last lines:\n" + "\n".join(server.log.read_text().splitlines()[-40:]))
    context.close()
    assert external == [], f"the pages asked other hosts: {external}"
    assert seen, "the test loaded no page"
    assert broken == [], "the pages broke their CSP or threw:\n" + "\n".join(broken)


# Reported to the test by every document of a context (Playwright's init script and exposed
# function run outside the page's CSP): each violation with the directive, what was blocked and
# where (a swap's inline style shows as 'style-src-elem inline').
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.srnskitViolation(
    `${e.effectiveDirective} ${e.blockedURI || "(none)"} at ${e.sourceFile || e.documentURI}` +
    `:${e.lineNumber} ${e.sample ? "sample " + JSON.stringify(e.sample) : ""}`
  );
});
"""


def _watch_for_breakage(context: Any) -> list[str]:
    """What breaks the pages in ``context``, as it happens: each CSP violation (the page's
    event, and Chromium's console line about a refused resource), each console error about the
    CSP and each uncaught script error."""
    broken: list[str] = []
    context.expose_function("srnskitViolation", lambda text: broken.append(f"CSP: {text}"))
    context.add_init_script(_REPORT_VIOLATIONS)

    def console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            broken.append(f"console {message.type}: {message.text}")

    def attach(page: Any) -> None:
        page.on("console", console)
        page.on("pageerror", lambda error: broken.append(f"script error: {error}"))

    context.on("page", attach)
    return broken


@pytest.fixture
def signed_in(page: Any, server: Server) -> Callable[[str], Any]:
    """``signed_in(user)`` → the page, signed in as ``user``: through the login form the first
    time in the run, then with the session cookie kept from it."""

    def sign(user: str) -> Any:
        state = server.sessions.get(user)
        if state is not None:
            page.context.add_cookies(state["cookies"])
            return page
        account = USERS[user]
        page.goto("/login")
        page.fill("input[name=username]", account.name)
        page.fill("input[name=password]", account.password)
        page.click("form button[type=submit]")
        page.wait_for_url("**/patients**")
        server.sessions[user] = page.context.storage_state()
        return page

    return sign


def opened(page: Any, path: str) -> int:
    """Go to ``path``; the HTTP status of the page's answer."""
    answer = page.goto(path)
    assert answer is not None, f"no answer for {path}"
    status: int = answer.status
    return status
