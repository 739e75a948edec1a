"""The backtest's journal: SQLite on the loop's thread, the app's schema and statements."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from densitytui.backtest.store import ScratchSqliteStore
from densitytui.model import Position, Side
from densitytui.storage.base import StoreError
from densitytui.storage.sqlite import SqliteStore


async def test_it_holds_what_the_app_store_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "backtest.db"
    store = ScratchSqliteStore(path, retention_days=30)
    threads = threading.active_count()
    await store.connect()
    assert threading.active_count() == threads, "no worker thread"
    await store.migrate()
    position = Position("BTCUSDT", Side.BUY, 0.001, 61_000.0, opened_at=5, venue="replay")
    position_id = await store.open_position(position)
    await store.close_position(position_id, 9, exit_price=61_100.0, exit_reason="manual",
                               realized_pnl=0.1, fees=0.01)
    await store.set_state("k", {"a": 1}, 9)
    await store.close()
    # The file is a store like any other: the app's own opens and reads it.
    app = SqliteStore(path, retention_days=30)
    await app.connect()
    try:
        assert await app.schema_version() == await _version(path)
        closed = await app.closed_positions()
        assert [(p.id, p.exit_price, p.exit_reason) for p in closed] == [
            (position_id, 61_100.0, "manual"),
        ]
        assert await app.get_state("k") == {"a": 1}
    finally:
        await app.close()


async def _version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])


async def test_a_failed_statement_rolls_its_transaction_back(tmp_path: Path) -> None:
    store = ScratchSqliteStore(tmp_path / "backtest.db", retention_days=30)
    await store.connect()
    try:
        await store.migrate()
        with pytest.raises(StoreError):
            async with store._session(write=True) as session:
                await session.execute(
                    "INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)", ("x", "1", 1),
                )
                await session.execute("INSERT INTO no_such_table VALUES (1)")
        assert await store.get_state("x") is None
        await store.set_state("y", 2, 1)
        assert await store.get_state("y") == 2
    finally:
        await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.get_state("y")
