"""The trading engine end to end through the Bybit venue (`testnet`, pointed at the local fake
by config, keys from the environment): an entry whose answer is lost is resolved by its
orderLinkId, the position carries its stop-loss on the exchange, close-all flattens."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from fake_bybit import FakeBybit
from venue_helpers import KEY, SECRET, eventually

from densitytui.config import Config
from densitytui.engine.runner import open_engine
from densitytui.model import AppEvent, TradingMode
from densitytui.storage import open_store

SYMBOLS = ["ETHUSDT", "SOLUSDT", "XRPUSDT", "LTCUSDT", "DOGEUSDT"]
SIGNAL_WAIT_S = 120.0


def _config(fake: FakeBybit, db: Path) -> Config:
    return Config.model_validate({
        "app": {"venue": "testnet", "mode": "auto"},
        "storage": {"url": f"sqlite:///{db}"},
        "bybit": {
            "testnet_rest": fake.rest_url, "testnet_public_ws": fake.public_ws_url,
            "testnet_private_ws": fake.private_ws_url,
        },
        "engine": {"order_timeout_s": 2.0, "order_lookup_interval_s": 0.05},
    })


async def test_engine_trades_through_bybit_and_flattens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET) as fake:
        fake.faults.lose_order_responses = 1
        store = await open_store(_config(fake, tmp_path / "e.db").storage)
        engine = await open_engine(_config(fake, tmp_path / "e.db"), store)
        events: list[AppEvent] = []
        engine.listeners.append(events.append)
        runner = None
        try:
            await engine.start()
            runner = asyncio.create_task(engine.run())
            kinds = lambda: [e.kind for e in events]  # noqa: E731
            await eventually(lambda: "opened" in kinds(), "an entry", SIGNAL_WAIT_S)
            assert "order_unknown" in kinds() and "order_resolved" in kinds()

            symbol = next(e.symbol for e in events if e.kind == "opened")
            venue_positions = [p for p in await fake.broker.positions() if p.symbol == symbol]
            assert len(venue_positions) == 1 and venue_positions[0].protected
            stored = [p for p in await store.open_positions() if p.symbol == symbol]
            assert stored[0].stop_loss == venue_positions[0].stop_loss
            entries = _rows(
                tmp_path / "e.db",
                "SELECT status, filled_qty FROM orders WHERE reduce_only = 0 AND symbol = ?",
                symbol,
            )
            # One entry, resolved by its id, never sent twice: the venue holds exactly its qty.
            assert entries == [("Filled", venue_positions[0].qty)]

            await engine.close_all()
            assert engine.mode is TradingMode.MANUAL
            assert await fake.broker.positions() == []
            assert await store.open_positions() == []
            assert "close_all_done" in kinds()
        finally:
            await engine.stop()
            if runner is not None:
                await runner
            await engine.venue.market.close()
            await engine.exchange.close()
            await store.close()


async def test_a_stop_loss_the_exchange_refuses_closes_the_position_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET) as fake:
        fake.faults.reject_stop_loss = True
        config = _config(fake, tmp_path / "e.db")
        store = await open_store(config.storage)
        engine = await open_engine(config, store)
        events: list[AppEvent] = []
        engine.listeners.append(events.append)
        runner = None
        try:
            await engine.start()
            runner = asyncio.create_task(engine.run())
            closed = lambda: [e for e in events if e.kind == "closed"]  # noqa: E731
            await eventually(lambda: bool(closed()), "the unprotected position closed", SIGNAL_WAIT_S)
            symbol = closed()[0].symbol
            alerts = [e for e in events if e.kind == "stop_loss_failed" and e.symbol == symbol]
            assert alerts and alerts[0].data["level"] == "alert"
            assert "stop_loss_failed" in closed()[0].message
            assert [p for p in await fake.broker.positions() if p.symbol == symbol] == []
            history = [p for p in await store.closed_positions(10) if p.symbol == symbol]
            assert history[0].exit_reason == "stop_loss_failed"
        finally:
            await engine.stop()
            if runner is not None:
                await runner
            await engine.venue.market.close()
            await engine.exchange.close()
            await store.close()


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()
