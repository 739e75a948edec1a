"""Audit of a 10-minute automatic run on the simulated market, read back from the database
with plain SQL: what the engine stored must hold whatever it did."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from engine_rig import engine_rig, make_config

RUN_S = 600.0


async def test_ten_minutes_of_auto_trading_pass_the_audit(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    async with engine_rig(make_config(db, mode="auto"), background=False) as rig:
        await rig.run_exactly(RUN_S)
        still_open = set(rig.engine.trades)

    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        _audit(con, still_open)
    finally:
        con.close()


def _audit(con: sqlite3.Connection, still_open: set[str]) -> None:
    positions = con.execute("SELECT * FROM positions ORDER BY id").fetchall()
    kinds = {
        row["kind"]
        for row in con.execute(
            "SELECT s.kind FROM positions p JOIN signals s ON s.id = p.signal_id"
        )
    }
    assert kinds == {"breakout", "bounce"}, f"both kinds traded, got {kinds}"
    assert len(positions) >= 10

    # Market history is kept: every signal's density went through the store's densities table.
    stored_kinds = {r[0] for r in con.execute("SELECT DISTINCT kind FROM densities")}
    assert {"appeared", "confirmed", "gone"} <= stored_kinds
    for signal in con.execute("SELECT symbol, density_id FROM signals"):
        assert con.execute(
            "SELECT 1 FROM densities WHERE symbol = ? AND density_id = ? AND kind = 'confirmed'",
            (signal["symbol"], signal["density_id"]),
        ).fetchone(), f"density {signal['density_id']} of {signal['symbol']} not stored"

    # No entry that failed a check: every position's signal was accepted with all checks passed,
    # and no accepted decision carries a failed check.
    for decision in con.execute("SELECT * FROM decisions WHERE outcome = 'accepted'"):
        failed = [name for name, passed, _ in json.loads(decision["checks"]) if not passed]
        assert failed == [], f"signal {decision['signal_id']} accepted with {failed}"
    accepted = {
        row["signal_id"]
        for row in con.execute("SELECT signal_id FROM decisions WHERE outcome = 'accepted'")
    }
    for position in positions:
        assert position["signal_id"] in accepted, f"position {position['id']} without acceptance"
    entries = con.execute("SELECT COUNT(*) FROM orders WHERE reduce_only = 0").fetchone()[0]
    assert entries == len(accepted), "one entry order per accepted signal, never two"
    links = con.execute("SELECT COUNT(DISTINCT order_link_id), COUNT(*) FROM orders").fetchone()
    assert links[0] == links[1]

    # Every position protected from its first stored state: a stop-loss in the row that opened
    # it, a stop_loss_set event at its opening time, and never removed.
    for position in positions:
        events = con.execute(
            "SELECT kind, ts, new_value FROM position_events WHERE position_id = ? ORDER BY id",
            (position["id"],),
        ).fetchall()
        assert events[0]["kind"] == "opened"
        first_stop = next(e for e in events if e["kind"] == "stop_loss_set")
        assert first_stop["ts"] == events[0]["ts"] and first_stop["new_value"] > 0
        assert "stop_loss_removed" not in [e["kind"] for e in events]
        assert position["stop_loss"] is not None and position["stop_loss"] > 0

    # Every closed position has an exit reason, and the PnL stored with it is what its fills
    # made: the fills of each symbol, in the order they were stored, are cut into round trips
    # (flat to flat), and the n-th round trip is the n-th closed position on that symbol.
    closed: dict[str, list[sqlite3.Row]] = {}
    for position in positions:
        if position["closed_at"] is None:
            assert position["symbol"] in still_open
            continue
        assert position["exit_reason"], f"position {position['id']} closed without a reason"
        closed.setdefault(position["symbol"], []).append(position)
    for symbol, closed_here in closed.items():
        trips = _round_trips(con, symbol)
        assert len(trips) >= len(closed_here)
        for position, (qty, pnl) in zip(closed_here, trips, strict=False):
            assert abs(qty - position["qty"]) < 1e-9, position["id"]
            assert abs(position["realized_pnl"] - pnl) < 1e-9, position["id"]


def _round_trips(con: sqlite3.Connection, symbol: str) -> list[tuple[float, float]]:
    """(size, cash from the fills less their fees) of each flat-to-flat run of fills."""
    trips: list[tuple[float, float]] = []
    net = cash = fees = size = 0.0
    for fill in con.execute(
        "SELECT side, price, qty, fee FROM fills WHERE symbol = ? ORDER BY rowid", (symbol,),
    ):
        sign = 1 if fill["side"] == "Buy" else -1
        if abs(net) < 1e-12:
            cash = fees = size = 0.0
        net += sign * fill["qty"]
        size = max(size, abs(net))
        cash -= sign * fill["price"] * fill["qty"]
        fees += fill["fee"]
        if abs(net) < 1e-12:
            trips.append((size, cash - fees))
    return trips


async def test_the_same_seed_trades_the_same_way_twice(tmp_path: Path) -> None:
    """Lockstep on the simulated market: a run depends on its input alone."""
    runs = []
    for n in range(2):
        async with engine_rig(make_config(tmp_path / f"run{n}.db"), background=False) as rig:
            await rig.run_exactly(120.0)
            runs.append([
                (e.ts, e.kind, e.symbol, e.message) for e in rig.events
                if e.kind not in {"started", "stopped"}
            ])
    assert any(kind == "opened" for _, kind, _, _ in runs[0])
    assert runs[0] == runs[1]
