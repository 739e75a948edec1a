"""The engine as a process: killed with SIGKILL mid-trade it resumes from store and venue; a
second engine on the same account is refused."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HEADLESS = [
    sys.executable, "-m", "densitytui.cli", "run", "--headless", "--venue", "sim",
    "--mode", "auto", "--seed", "7",
]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp_path / name.lower())
    return env


def _start(tmp_path: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*HEADLESS, "--db", str(db), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_env(tmp_path), cwd=tmp_path,
    )


def _read_until(process: subprocess.Popen[str], word: str) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if word in line.split():
            return lines
    pytest.fail(f"the engine ended before printing {word!r}: {process.stderr.read() if process.stderr else ''}")


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_after_sigkill_the_open_position_is_resumed_with_its_stop_and_nothing_resent(
    tmp_path: Path,
) -> None:
    db = tmp_path / "e.db"
    first = _start(tmp_path, db, "--speed", "20")
    try:
        _read_until(first, "opened")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    open_rows = _rows(db, "SELECT id, symbol, stop_loss FROM positions WHERE closed_at IS NULL")
    assert open_rows, "a position was open when the engine was killed"
    bounces = {
        symbol for (symbol,) in _rows(
            db, "SELECT p.symbol FROM positions p JOIN signals s ON s.id = p.signal_id "
            "WHERE p.closed_at IS NULL AND s.kind = 'bounce'",
        )
    }
    orders_before = _rows(db, "SELECT order_link_id, status FROM orders ORDER BY order_link_id")

    second = _start(tmp_path, db, "--speed", "0", "--duration", "5")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    started = next(line for line in out.splitlines() if " started " in line)
    assert f"{len(open_rows)} open position(s)" in started
    assert " adopted " not in out
    for position_id, symbol, stop_loss in open_rows:
        row = _rows(db, f"SELECT stop_loss, exit_reason FROM positions WHERE id = {position_id}")
        assert row[0][0] == stop_loss and stop_loss is not None and stop_loss > 0
        if row[0][1]:
            # Closed after the restart: by a rule of the new run, never as lost.
            assert row[0][1] not in {"closed_on_exchange"}, (symbol, row)
    # A resumed bounce finds its wall again in the new tracker, or closes: never left without
    # its density exits.
    for symbol in bounces:
        relinked = any("relinked" in line and symbol in line for line in out.splitlines())
        still_open = _rows(
            db, f"SELECT COUNT(*) FROM positions WHERE symbol = '{symbol}' AND closed_at IS NULL",
        )[0][0]
        assert relinked or not still_open, (symbol, out)
    after = dict(_rows(db, "SELECT order_link_id, status FROM orders"))
    for link_id, _status in orders_before:
        assert link_id in after
    links = _rows(db, "SELECT COUNT(*), COUNT(DISTINCT order_link_id) FROM orders")
    assert links[0][0] == links[0][1]
    assert not [lid for lid, status in after.items() if status in {"Created", "Unknown"}]


def test_a_second_engine_on_the_same_database_is_refused_with_the_holders_pid(
    tmp_path: Path,
) -> None:
    db = tmp_path / "e.db"
    first = _start(tmp_path, db, "--speed", "1")
    try:
        _read_until(first, "started")
        second = _start(tmp_path, db, "--speed", "0", "--duration", "1")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2
        assert f"pid {first.pid}" in err and "already trades venue sim" in err
    finally:
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=60)
    assert first.returncode == 0
    assert "stopped" in out
