"""``srnskit serve``: migrates the database on start and binds to 127.0.0.1 by default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import sqlalchemy as sa

from srnskit.registry.db import head_revision


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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


def test_serve_migrates_and_binds_to_loopback(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    url = f"sqlite:///{database}"
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "srnskit"), "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SRNSKIT_DB": ""},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json()["info"]["title"] == "srnskit registry"
        assert _addresses_listening(port) == {"127.0.0.1"}
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert revision.scalar_one() == head_revision()
        engine.dispose()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
