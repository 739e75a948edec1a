"""What only the SQLite store promises: WAL, the file where it belongs, clear bad-file errors."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

import pytest

from densitytui.config import StorageSection
from densitytui.paths import default_db_path
from densitytui.storage import StoreError, StoreUnavailable, create_store, open_store
from densitytui.storage.migrations import LATEST_VERSION

TryOpen = Callable[[StorageSection], Awaitable[None]]


def _journal_mode(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        mode: str = connection.execute("PRAGMA journal_mode").fetchone()[0]
        return mode


async def test_file_and_missing_parent_dirs_are_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "nested" / "dir" / "densitytui.db"
    async with await open_store(StorageSection(url=f"sqlite:///{path}")) as store:
        info = await store.info()
    assert path.is_file()
    assert _journal_mode(path) == "wal"
    assert info.location == str(path) and info.schema_version == LATEST_VERSION
    assert info.notes == ("journal mode wal", "synchronous FULL", "foreign keys on")


async def test_empty_url_means_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    async with await open_store(StorageSection()) as store:
        assert store.location == str(default_db_path())
    assert default_db_path() == tmp_path / "xdg" / "densitytui" / "densitytui.db"
    assert default_db_path().is_file()


async def test_a_relative_path_is_relative_to_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with await open_store(StorageSection(url="sqlite:///data/rel.db")):
        pass
    assert (tmp_path / "data" / "rel.db").is_file()


async def test_a_directory_is_not_a_database(tmp_path: Path, try_open: TryOpen) -> None:
    with pytest.raises(StoreUnavailable, match=f"database {tmp_path}: it is a directory"):
        await try_open(StorageSection(url=f"sqlite:///{tmp_path}"))


async def test_a_file_that_is_not_sqlite_is_refused_untouched(
    tmp_path: Path, try_open: TryOpen
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreUnavailable, match="file is not a database"):
        await try_open(StorageSection(url=f"sqlite:///{path}"))
    assert path.read_bytes() == b"these are my notes, not a database" * 100


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = await open_store(StorageSection(url=f"sqlite:///{tmp_path / 'x.db'}"))
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.schema_version()


def test_an_unknown_url_is_a_store_error() -> None:
    section = StorageSection.model_construct(url="mysql://user:pw@host/db", retention_days=30)
    with pytest.raises(StoreError, match=r"mysql://user:\*\*\*@host/db"):
        create_store(section)


async def test_opening_cancelled_at_any_point_leaves_no_connection(tmp_path: Path) -> None:
    """An app that quits while its database opens cancels `open_store` wherever it is; every
    cancellation point must close what was opened (the autouse fixture in tests/conftest.py
    fails the test if an aiosqlite thread is left behind)."""
    storage = StorageSection(url=f"sqlite:///{tmp_path / 'cancel.db'}")
    outcomes = set()
    for steps in range(60):
        task = asyncio.ensure_future(open_store(storage))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        try:
            store = await task
        except asyncio.CancelledError:
            outcomes.add("cancelled")
        else:
            outcomes.add("opened")
            await store.close()
    assert "cancelled" in outcomes
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            thread.join(timeout=5)
            assert not thread.is_alive(), "a cancelled open left its connection running"
