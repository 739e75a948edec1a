"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp dir, on a free port.

As root (CI), the server runs as the `postgres` user, since initdb refuses root. Start-up waits by
polling (`pg_ctl -w`, then a TCP connect with a deadline), never by sleeping blindly.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

SKIP_ENV = "DENSITYTUI_SKIP_POSTGRES"
USER = "densitytui"
START_ATTEMPTS = 3
READY_TIMEOUT_S = 60.0
# Test-only settings: durability is not what these tests are about, speed is.
FAST_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass
class PostgresServer:
    root: Path
    port: int
    _names: Iterator[int] = field(default_factory=itertools.count)

    def dsn(self, database: str = "postgres", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"test_{next(self._names)}"
        connection = await asyncpg.connect(self.dsn())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return name


def _binaries() -> tuple[str, str]:
    found = {name: shutil.which(name) for name in ("initdb", "pg_ctl")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        pytest.fail(
            f"PostgreSQL server binaries not found on PATH: {', '.join(missing)}. Install the "
            f"PostgreSQL server (Debian: postgresql), or set {SKIP_ENV}=1 to skip these tests "
            "explicitly.",
            pytrace=False,
        )
    return found["initdb"] or "", found["pg_ctl"] or ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts_connections(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _run(command: list[str], log: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            f"\n{tail}"
        )


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A started server, stopped and deleted afterwards; FAILS the test when it cannot start."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: PostgreSQL tests skipped on request")
    initdb, pg_ctl = _binaries()
    root = Path(tempfile.mkdtemp(prefix="densitytui-pg-"))
    as_server_user: list[str] = []
    if os.geteuid() == 0:
        try:
            os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)
        except KeyError:
            shutil.rmtree(root)
            pytest.fail(
                "tests run as root, so the server must run as the 'postgres' system user "
                "(initdb refuses root), and there is none",
                pytrace=False,
            )
        as_server_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    started = False
    try:
        _run(
            [*as_server_user, initdb, "-D", str(data), "-A", "trust", "-U", USER, "-N",
             "-E", "UTF8", "--locale=C"],
            log,
        )
        problems: list[str] = []
        for _ in range(START_ATTEMPTS):
            port = _free_port()
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {FAST_SETTINGS}"
            try:
                _run(
                    [*as_server_user, pg_ctl, "-D", str(data), "-l", str(log), "-w",
                     "-t", str(int(READY_TIMEOUT_S)), "-o", options, "start"],
                    log,
                )
            except RuntimeError as exc:
                problems.append(str(exc))
                continue
            started = True
            if not _accepts_connections(port, time.monotonic() + READY_TIMEOUT_S):
                pytest.fail(f"PostgreSQL started but port {port} never accepted a connection")
            yield PostgresServer(root, port)
            return
        pytest.fail("PostgreSQL did not start:\n" + "\n".join(problems), pytrace=False)
    except RuntimeError as exc:
        pytest.fail(f"PostgreSQL could not be set up: {exc}", pytrace=False)
    finally:
        if started:
            subprocess.run(
                [*as_server_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True, check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
