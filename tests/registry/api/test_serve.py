"""``srnskit serve``: migrates the database on start, binds to 127.0.0.1 by default and runs
``--workers`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
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


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


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
        # Two worker processes under the server (besides multiprocessing's own helpers).
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        workers = [c for c in children if "spawn_main" in _command_line(int(c))]
        assert len(workers) == 2, [_command_line(int(c)) for c in children]
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert revision.scalar_one() == head_revision()
        engine.dispose()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
