"""The journal of one backtest: the SQLite store's schema and SQL, run on the event loop's thread.

A backtest's store is scratch (a file in a temporary directory, deleted when the run ends) and
nothing else runs beside the lockstep engine, so the things `SqliteStore` pays for do not
apply: a worker thread so that the app never waits on the disk (each statement is a round
trip to it, a third of a backtest's time), and fsynced commits that survive a power loss.
`ScratchSqliteStore` keeps everything else: the same migrations, the same statements, one
transaction per store call as before, every write awaited in the engine's order; so the rows
the results are read back from are the ones `SqliteStore` would hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from densitytui.storage.base import StoreError, StoreUnavailable
from densitytui.storage.sql import Row, Session
from densitytui.storage.sqlite import SqliteStore


class _LoopSession(Session):
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        return max(self._connection.execute(sql, args).rowcount, 0)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._connection.executemany(sql, rows)

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return [dict(row) for row in self._connection.execute(sql, args).fetchall()]


class ScratchSqliteStore(SqliteStore):
    """A SQLite store for a throwaway file, on the caller's thread (see the module doc)."""

    def __init__(self, path: Path, retention_days: int) -> None:
        super().__init__(path, retention_days)
        self._sync: sqlite3.Connection | None = None

    async def connect(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from None
        connection.row_factory = sqlite3.Row
        # Nobody else opens a scratch file: no WAL, no shared lock, the rollback journal in
        # memory (a commit costs a third of what it did with WAL).
        connection.execute("PRAGMA journal_mode = MEMORY")
        connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA foreign_keys = ON")
        self._sync = connection

    async def close(self) -> None:
        if self._sync is not None:
            connection, self._sync = self._sync, None
            connection.close()

    @asynccontextmanager
    async def _session(self, write: bool) -> AsyncIterator[Session]:
        async with self._lock:
            connection = self._sync
            if connection is None:
                raise StoreError(f"{self.path}: the store is not open")
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _LoopSession(connection)
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                connection.execute("ROLLBACK")
                raise StoreError(f"{self.path}: {exc}") from exc
            except BaseException:
                connection.execute("ROLLBACK")
                raise
