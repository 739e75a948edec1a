"""What only the PostgreSQL store promises: no password shown, plain tables without TimescaleDB."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from postgres_server import SKIP_ENV, PostgresServer, running_postgres

from densitytui.config import StorageSection
from densitytui.storage import StoreUnavailable, open_store

pytestmark = pytest.mark.postgres

TryOpen = Callable[[StorageSection], Awaitable[None]]

PASSWORD = "s3cr3t-Passw0rd"


async def test_the_password_never_shows(postgres_server: PostgresServer) -> None:
    name = await postgres_server.create_database()
    url = postgres_server.dsn(name, password=PASSWORD)
    async with await open_store(StorageSection(url=url)) as store:
        info = await store.info()
    expected = f"postgresql://densitytui:***@127.0.0.1:{postgres_server.port}/{name}"
    assert store.location == info.location == expected
    assert PASSWORD not in repr(info)


async def test_an_unreachable_server_is_reported_without_the_password(try_open: TryOpen) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://densitytui:{PASSWORD}@127.0.0.1:{port}/densitytui"
    with pytest.raises(StoreUnavailable) as caught:
        await try_open(StorageSection(url=url))
    message = str(caught.value)
    assert message.startswith(f"cannot connect to postgresql://densitytui:***@127.0.0.1:{port}/")
    assert PASSWORD not in message


async def test_a_missing_database_is_named(
    postgres_server: PostgresServer, try_open: TryOpen
) -> None:
    with pytest.raises(StoreUnavailable, match='database "no_such_db" does not exist'):
        await try_open(StorageSection(url=postgres_server.dsn("no_such_db")))


async def test_without_timescaledb_history_tables_are_plain(
    postgres_server: PostgresServer,
) -> None:
    name = await postgres_server.create_database()
    async with await open_store(StorageSection(url=postgres_server.dsn(name))) as store:
        info = await store.info()
    connection = await asyncpg.connect(postgres_server.dsn(name))
    try:
        available = await connection.fetchval(
            "SELECT COUNT(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        )
        kinds = await connection.fetch(
            "SELECT relname, relkind::text AS relkind FROM pg_class "
            "WHERE relname IN ('densities', 'market_stats') ORDER BY relname"
        )
    finally:
        await connection.close()
    if available:
        pytest.fail("TimescaleDB is available here: this test covers the plain-table path")
    assert info.notes == ("TimescaleDB not installed, plain tables",)
    assert [(row["relname"], row["relkind"]) for row in kinds] == [
        ("densities", "r"), ("market_stats", "r"),
    ]


def test_missing_server_binaries_fail_instead_of_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(SKIP_ENV, raising=False)
    with (
        pytest.raises(pytest.fail.Exception, match=f"initdb, pg_ctl.*{SKIP_ENV}=1"),
        running_postgres(),
    ):
        pass


def test_skipping_takes_an_explicit_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match="skipped on request"), running_postgres():
        pass
