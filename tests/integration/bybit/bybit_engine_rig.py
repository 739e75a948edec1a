"""The trading engine on the fake Bybit as venue `testnet` (keys from the environment): the rig
the engine's Bybit tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fake_bybit import FakeBybit
from venue_helpers import KEY, SECRET

from densitytui.config import Config
from densitytui.engine.engine import TradingEngine
from densitytui.engine.runner import open_engine
from densitytui.model import AppEvent
from densitytui.storage import Store, open_store

SYMBOLS = ["ETHUSDT", "SOLUSDT", "XRPUSDT", "LTCUSDT", "DOGEUSDT"]


def _config(fake: FakeBybit, db: Path, mode: str) -> Config:
    return Config.model_validate({
        "app": {"venue": "testnet", "mode": mode},
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
async def engine_on_fake(
    tmp_path: Path, mode: str = "auto", **faults: object,
) -> AsyncIterator[Running]:
    """A fake Bybit with `faults` switched on and the engine on it as venue `testnet`, in
    `mode`, started and running."""
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET) as fake:
        for name, value in faults.items():
            setattr(fake.faults, name, value)
        config = _config(fake, tmp_path / "e.db", mode)
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
