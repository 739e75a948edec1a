"""The files that hold an account's trading (the log, the database with its WAL and shared
memory) are the owner's alone: created 0600 under any umask, an existing looser one tightened,
rotated logs too. And the app's log pane reads the log tail while other threads write to it."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from densitytui.config import StorageSection, parse_config
from densitytui.logging import LogTail, close_logging, configure_logging
from densitytui.storage import open_store
from densitytui.ui.widgets.log_pane import LogPane


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files, as on many desktops."""
    old = os.umask(0o002)
    yield
    os.umask(old)
    close_logging()


def test_the_log_is_created_private_and_rotates_private(tmp_path: Path) -> None:
    config = parse_config({"logging": {"max_file_mb": 0.001, "keep_files": 2}})
    path = configure_logging(config, tmp_path / "densitytui.log")
    log = structlog.get_logger("t")
    for n in range(40):
        log.info("a record long enough to rotate the file soon", n=n)
    rotated = sorted(tmp_path.glob("densitytui.log*"))
    assert len(rotated) == 3
    assert {p.name: _mode(p) for p in rotated} == {p.name: 0o600 for p in rotated}
    assert _mode(path) == 0o600


def test_a_log_others_could_read_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "densitytui.log"
    path.write_text("")
    path.chmod(0o644)
    configure_logging(parse_config({}), path)
    structlog.get_logger("t").info("x")
    assert _mode(path) == 0o600


async def test_the_database_and_its_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "densitytui.db"
    store = await open_store(StorageSection(url=f"sqlite:///{db}"))
    try:
        await store.set_state("k", 1, 0)
        files = sorted(tmp_path.glob("data/densitytui.db*"))
        names = {p.name for p in files}
        assert {"densitytui.db", "densitytui.db-wal", "densitytui.db-shm"} <= names
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        await store.close()


async def test_a_database_others_could_read_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "densitytui.db"
    store = await open_store(StorageSection(url=f"sqlite:///{db}"))
    await store.close()
    db.chmod(0o644)
    store = await open_store(StorageSection(url=f"sqlite:///{db}"))
    await store.close()
    assert _mode(db) == 0o600


def test_the_log_pane_reads_while_threads_log() -> None:
    """A REST worker thread logs while the pane shows the tail: iterating the live deque then
    raised 'deque mutated during iteration' and took the app down."""
    tail = LogTail(size=500)
    for n in range(500):
        tail(None, "", {"event": "filler", "n": n})
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            tail(None, "", {"event": "from a thread"})

    pane = LogPane()
    interval = sys.getswitchinterval()
    # Threads take turns every microsecond: the pane is caught mid-read again and again.
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=worker)
    thread.start()
    try:
        for _ in range(20000):
            pane.show_records(*tail.snapshot())
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert tail.count > 500


async def test_a_write_cancelled_at_its_begin_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A task cancelled while SQLite runs its BEGIN (the engine stopping, a timeout) left the
    transaction open on the connection: every later write failed 'cannot start a transaction
    within a transaction', and the engine stopped trading (store_failed, seen in a session)."""
    store = await open_store(StorageSection(url=f"sqlite:///{tmp_path / 'e.db'}"))
    try:
        write = asyncio.create_task(store.set_state("k", 1, 0))
        await asyncio.sleep(0)  # the task runs to its first wait: the BEGIN in SQLite's thread
        write.cancel()
        with pytest.raises(asyncio.CancelledError):
            await write
        await store.set_state("k", 2, 1)
        assert await store.get_state("k") == 2
    finally:
        await store.close()
