"""A process writing to SQLite is killed with SIGKILL; every row it had committed is still there."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from position_writer import fill_for, position_for

from densitytui.config import StorageSection
from densitytui.model import PositionEventKind
from densitytui.storage import open_store
from densitytui.storage.migrations import LATEST_VERSION

WRITER = Path(__file__).with_name("position_writer.py")
LINES_BEFORE_KILL = 60


def _write_then_kill(db: Path, first: int) -> list[tuple[int, int]]:
    """Run the writer, SIGKILL it after LINES_BEFORE_KILL rows; return every (n, id) it printed."""
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(first)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert writer.stdout is not None
    lines: list[str] = []
    try:
        for line in writer.stdout:
            lines.append(line)
            if len(lines) == LINES_BEFORE_KILL:
                writer.send_signal(signal.SIGKILL)
                break
        rest, errors = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == -signal.SIGKILL, f"the writer was not killed: {errors}"
    lines.extend(line for line in rest.splitlines(keepends=True) if line.endswith("\n"))
    assert len(lines) >= LINES_BEFORE_KILL
    return [(int(n), int(row_id)) for n, row_id in (line.split() for line in lines)]


def _integrity(db: Path) -> list[tuple[str]]:
    with closing(sqlite3.connect(db)) as connection:
        return list(connection.execute("PRAGMA integrity_check").fetchall())


async def _check_rows(db: Path, printed: list[tuple[int, int]]) -> int:
    """Every printed row is there with its values; returns the schema version found."""
    async with await open_store(StorageSection(url=f"sqlite:///{db}")) as store:
        assert await store.migrate() == []
        for n, position_id in printed:
            stored = await store.position(position_id)
            expected = position_for(n)
            expected.id = position_id
            assert stored == expected
            assert await store.fills(f"dt1-{n:06d}") == [fill_for(n)]
            kinds = [event.kind for event in await store.position_events(position_id)]
            assert kinds == [PositionEventKind.OPENED, PositionEventKind.STOP_LOSS_SET]
        return await store.schema_version()


def test_committed_rows_survive_sigkill_and_the_database_reopens(tmp_path: Path) -> None:
    db = tmp_path / "killed" / "densitytui.db"
    first_run = _write_then_kill(db, first=0)
    assert _integrity(db) == [("ok",)]
    assert asyncio.run(_check_rows(db, first_run)) == LATEST_VERSION

    second_run = _write_then_kill(db, first=10_000)
    assert _integrity(db) == [("ok",)]
    assert asyncio.run(_check_rows(db, first_run + second_run)) == LATEST_VERSION
    assert len({row_id for _, row_id in first_run + second_run}) == len(first_run + second_run)
