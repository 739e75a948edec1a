"""The trading engine end to end through the Bybit venue (`testnet`, pointed at the local fake
by config, keys from the environment): an entry whose answer is lost is resolved by its
orderLinkId, the position carries its stop-loss on the exchange, close-all flattens."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fake_bybit import FakeBybit
from venue_helpers import KEY, SECRET, eventually

from densitytui.config import Config
from densitytui.engine.engine import TradingEngine
from densitytui.engine.runner import open_engine
from densitytui.model import AppEvent, TradingMode
from densitytui.storage import Store, open_store

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


@dataclass
class Running:
    """The engine trading the fake's account, and what it said."""

    fake: FakeBybit
    engine: TradingEngine
    store: Store
    events: list[AppEvent] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]


@asynccontextmanager
async def engine_on_fake(tmp_path: Path, **faults: object) -> AsyncIterator[Running]:
    """A fake Bybit with `faults` switched on and the engine on it as venue `testnet`."""
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET) as fake:
        for name, value in faults.items():
            setattr(fake.faults, name, value)
        config = _config(fake, tmp_path / "e.db")
        store = await open_store(config.storage)
        engine = await open_engine(config, store)
        running = Running(fake, engine, store)
        engine.listeners.append(running.events.append)
        runner = None
        try:
            await engine.start()
            runner = asyncio.create_task(engine.run())
            yield running
        finally:
            await engine.stop()
            if runner is not None:
                await runner
            await engine.venue.market.close()
            await engine.exchange.close()
            await store.close()


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
