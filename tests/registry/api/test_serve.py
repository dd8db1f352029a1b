"""``srnskit serve``: migrates the database on start, binds to 127.0.0.1 by default and runs
``--workers`` processes, each listening on a socket of its own, so that connections opened at
once are spread over the workers (with one shared socket they all went to one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
import sqlalchemy as sa

from srnskit.registry.db import head_revision
from srnskit.registry.testing import free_port


def _addresses_listening(port: int) -> set[str]:
    """The local addresses listening on ``port`` (from /proc/net/tcp: state 0A = LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hex_port = fields[1].split(":")
        if int(hex_port, 16) == port and fields[3] == "0A":
            octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
            found.add(".".join(octets))
    return found


def _tcp_sockets(port: int, state: str) -> list[str]:
    """The inodes of the sockets on local ``port`` in ``state`` (0A listen, 01 established)."""
    inodes = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.append(fields[9])
    return inodes


def _holding(pid: int, inodes: list[str]) -> int:
    """How many of the sockets ``inodes`` process ``pid`` holds open."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            held += os.readlink(fd) in wanted
        except OSError:
            continue
    return held


def _listening_workers(server: int, port: int) -> list[int] | None:
    """The two worker processes of the server ``server`` (its children running
    multiprocessing's ``spawn_main``), when there are two and each holds one listening socket
    of ``port``; else None (still starting, or one replaced meanwhile)."""
    try:
        children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
        workers = [int(c) for c in children if "spawn_main" in _command_line(int(c))]
        listening = _tcp_sockets(port, "0A")
        held = [_holding(w, listening) for w in workers]
    except FileNotFoundError:  # a child gone between the listing and its reading
        return None
    return workers if held == [1, 1] else None


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.slow
def test_serve_migrates_and_binds_to_loopback(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    url = f"sqlite:///{database}"
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "srnskit"),
            *("serve", "--db", url, "--port", str(port), "--workers", "2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SRNSKIT_DB": ""},
    )
    try:
        deadline = time.monotonic() + 300  # two workers each load the app; the machine is shared
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the server did not start in 300 s"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json()["info"]["title"] == "srnskit registry"
        assert _addresses_listening(port) == {"127.0.0.1"}
        # Two worker processes under the server, each listening on its own socket of the port.
        # Asked again until both are up: uvicorn's supervisor replaces a worker that misses its
        # health ping (5 s; a loaded machine, a worker still importing), under a new pid.
        workers = _listening_workers(server.pid, port)
        while workers is None:
            assert time.monotonic() < deadline, _tcp_sockets(port, "0A")
            time.sleep(0.2)
            workers = _listening_workers(server.pid, port)
        # Sixteen keep-alive connections opened together are spread over both workers (the
        # kernel picks a listening socket by a hash of the connection: all on one worker has a
        # probability of 2 × 2^-16).
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(16)]
        try:
            for client in clients:
                assert client.get("/static/srnskit.css").status_code == 200
            held = [_holding(w, _tcp_sockets(port, "01")) for w in workers]
            assert sum(held) == 16, held
            assert min(held) > 0, held
        finally:
            for client in clients:
                client.close()
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert revision.scalar_one() == head_revision()
        engine.dispose()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
