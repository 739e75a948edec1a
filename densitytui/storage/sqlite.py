"""The store in a SQLite file, through aiosqlite (the default: nothing to install or run).

Durability: WAL journal with `synchronous=FULL`. Every commit is fsynced to the WAL before it
returns, so neither SIGKILL nor a power loss or OS crash loses a committed order row: the order
journal is written before an order is sent and must survive anything the exchange survives.
Market history (density events) is written in batches, which keeps the fsyncs few. Writers
take the lock at BEGIN (`BEGIN IMMEDIATE`) so two processes never deadlock upgrading a read lock;
a busy timeout lets `db info` run while the app writes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from densitytui.engine.lock import FileLock
from densitytui.storage.base import StoreError, StoreUnavailable
from densitytui.storage.sql import Dialect, Row, Session, SqlStore

BUSY_TIMEOUT_MS = 10_000

SQLITE = Dialect(
    name="sqlite",
    types={
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "series_id": "INTEGER PRIMARY KEY",
        "bigint": "INTEGER",
        "float": "REAL",
        "bool": "INTEGER",
        "json": "TEXT",
    },
    for_update="",
    list_tables="SELECT name FROM sqlite_master WHERE type = 'table'",
    schema_lock=None,
)


def _make_private(path: Path) -> None:
    """The database readable by its owner alone (0600): created so before SQLite opens it, an
    existing one tightened. SQLite gives its WAL and shared-memory files the database's mode."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


async def _enable_wal(connection: aiosqlite.Connection) -> str:
    """Switch to WAL and return the journal mode in force.

    Two processes opening a new file at once (the app and `db migrate`) can both try the switch;
    SQLite then answers SQLITE_BUSY at once instead of waiting out the busy timeout, so retry
    until that timeout has passed.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            rows = list(await connection.execute_fetchall("PRAGMA journal_mode = WAL"))
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
            continue
        return str(rows[0][0]).lower() if rows else "unknown"


class SqliteSession(Session):
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        cursor = await self._connection.execute(sql, args)
        changed = cursor.rowcount
        await cursor.close()
        return max(changed, 0)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._connection.executemany(sql, rows)

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        rows = await self._connection.execute_fetchall(sql, args)
        return [dict(row) for row in rows]


class SqliteStore(SqlStore):
    """One connection shared by every coroutine; a lock keeps their transactions apart."""

    backend = "sqlite"
    dialect = SQLITE

    def __init__(self, path: Path, retention_days: int) -> None:
        super().__init__(retention_days)
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._account_locks: list[FileLock] = []

    @property
    def location(self) -> str:
        return str(self.path)

    async def connect(self) -> None:
        if self.path.is_dir():
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: it is a directory")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _make_private(self.path)
            connection = await aiosqlite.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from None
        connection.row_factory = sqlite3.Row
        try:
            await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = await _enable_wal(connection)
            if mode != "wal":
                raise StoreUnavailable(f"{self.path}: SQLite refused WAL mode (got {mode})")
            await connection.execute("PRAGMA synchronous = FULL")
            await connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            await connection.close()
            raise StoreUnavailable(f"cannot use SQLite database {self.path}: {exc}") from None
        except BaseException:
            # StoreError, or a cancellation: never leave the connection's thread running, it
            # would keep the process alive after everything else ended.
            await connection.close()
            raise
        self._connection = connection

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()
        while self._account_locks:
            self._account_locks.pop().release()

    async def lock_account(self, venue: str) -> None:
        """A `flock` on `<database>.engine-<venue>.lock` beside the database's real path."""
        real = Path(os.path.realpath(self.path))
        lock = FileLock(
            real.with_name(f"{real.name}.engine-{venue}.lock"), f"venue {venue} on {real}",
        )
        lock.acquire()
        self._account_locks.append(lock)

    @asynccontextmanager
    async def _session(self, write: bool) -> AsyncIterator[Session]:
        async with self._lock:
            if self._connection is None:
                raise StoreError(f"{self.path}: the store is not open")
            connection = self._connection
            try:
                await connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"{self.path}: cannot start a transaction: {exc}") from None
            except BaseException:
                # Cancelled while the BEGIN runs in the connection's thread, where it goes on:
                # end that transaction (queued after it), or every later BEGIN fails.
                await connection.rollback()
                raise
            try:
                yield SqliteSession(connection)
                await connection.commit()
            except sqlite3.Error as exc:
                await connection.rollback()
                raise StoreError(f"{self.path}: {exc}") from exc
            except BaseException:
                await connection.rollback()
                raise

    async def _notes(self, session: Session) -> tuple[str, ...]:
        pragmas = {}
        for name in ("journal_mode", "synchronous", "foreign_keys"):
            row = await session.fetchrow(f"PRAGMA {name}")
            pragmas[name] = row[name] if row else None
        levels = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        return (
            f"journal mode {pragmas['journal_mode']}",
            f"synchronous {levels.get(pragmas['synchronous'], pragmas['synchronous'])}",
            f"foreign keys {'on' if pragmas['foreign_keys'] else 'off'}",
        )
