"""A real PostgreSQL server for the store tests, and the `store` fixture over both backends.

The server is started once per session (see `postgres_server.py`) and every test gets a fresh
database. Missing server binaries FAIL the PostgreSQL tests unless DENSITYTUI_SKIP_POSTGRES=1 says
to skip them, so CI can never skip them silently.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest
from postgres_server import PostgresServer, running_postgres

from densitytui.config import StorageSection
from densitytui.storage import Store, open_store


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageSection:
    """Storage settings pointing at a new, empty database of each backend."""
    if request.param == "sqlite":
        return StorageSection(url=f"sqlite:///{tmp_path / 'store.db'}", retention_days=30)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = await server.create_database()
    return StorageSection(url=server.dsn(name), retention_days=30)


@pytest.fixture
async def store(storage: StorageSection) -> AsyncIterator[Store]:
    opened = await open_store(storage)
    try:
        yield opened
    finally:
        await opened.close()


RawSql = Callable[[str], Awaitable[list[tuple[object, ...]]]]


@pytest.fixture
def raw_sql(storage: StorageSection) -> RawSql:
    """Run SQL on the test database behind the store's back (to plant bad rows, to look inside)."""

    async def run(sql: str) -> list[tuple[object, ...]]:
        if storage.url.startswith("sqlite:///"):
            path = storage.url.removeprefix("sqlite:///")
            with closing(sqlite3.connect(path)) as connection, connection:
                return list(connection.execute(sql).fetchall())
        connection = await asyncpg.connect(storage.url)
        try:
            return [tuple(record) for record in await connection.fetch(sql)]
        finally:
            await connection.close()

    return run


async def open_and_close(storage: StorageSection) -> None:
    """Open a store and close it at once: for tests expecting the open to fail, so that an open
    that wrongly succeeds fails the test instead of leaking a connection thread that hangs pytest."""
    store = await open_store(storage)
    await store.close()


@pytest.fixture
def try_open() -> Callable[[StorageSection], Awaitable[None]]:
    return open_and_close
