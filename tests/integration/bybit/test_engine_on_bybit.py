"""The trading engine end to end through the Bybit venue (`testnet`, pointed at the local fake
by config, keys from the environment): an entry whose answer is lost is resolved by its
orderLinkId, the position carries its stop-loss on the exchange, close-all flattens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from bybit_engine_rig import engine_on_fake
from venue_helpers import KEY, SECRET, eventually

from densitytui.model import TradingMode

SIGNAL_WAIT_S = 120.0


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)


async def test_engine_trades_through_bybit_and_flattens(tmp_path: Path) -> None:
    async with engine_on_fake(tmp_path, lose_order_responses=1) as run:
        await eventually(lambda: "opened" in run.kinds(), "an entry", SIGNAL_WAIT_S)
        assert "order_unknown" in run.kinds() and "order_resolved" in run.kinds()

        symbol = next(e.symbol for e in run.events if e.kind == "opened")
        venue_positions = [p for p in await run.fake.broker.positions() if p.symbol == symbol]
        assert len(venue_positions) == 1 and venue_positions[0].protected
        stored = [p for p in await run.store.open_positions() if p.symbol == symbol]
        assert stored[0].stop_loss == venue_positions[0].stop_loss
        entries = _rows(
            tmp_path / "e.db",
            "SELECT status, filled_qty FROM orders WHERE reduce_only = 0 AND symbol = ?",
            symbol,
        )
        # One entry, resolved by its id, never sent twice: the venue holds exactly its qty.
        assert entries == [("Filled", venue_positions[0].qty)]

        await run.engine.close_all()
        assert run.engine.mode is TradingMode.MANUAL
        assert await run.fake.broker.positions() == []
        assert await run.store.open_positions() == []
        assert "close_all_done" in run.kinds()


async def test_a_stop_loss_the_exchange_refuses_closes_the_position_at_once(
    tmp_path: Path,
) -> None:
    async with engine_on_fake(tmp_path, reject_stop_loss=True) as run:
        closed = lambda: [e for e in run.events if e.kind == "closed"]  # noqa: E731
        await eventually(lambda: bool(closed()), "the unprotected position closed", SIGNAL_WAIT_S)
        symbol = closed()[0].symbol
        alerts = [e for e in run.events if e.kind == "stop_loss_failed" and e.symbol == symbol]
        assert alerts and alerts[0].data["level"] == "alert"
        assert "stop_loss_failed" in closed()[0].message
        assert [p for p in await run.fake.broker.positions() if p.symbol == symbol] == []
        history = [p for p in await run.store.closed_positions(10) if p.symbol == symbol]
        assert history[0].exit_reason == "stop_loss_failed"


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()
