"""The trading engine on the simulated market (speed 0, lockstep) with a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from faulty_exchange import FaultyExchange

from densitytui.config import Config
from densitytui.engine.engine import TradingEngine
from densitytui.engine.runner import sim_engine
from densitytui.model import AppEvent
from densitytui.storage import Store, open_store
from densitytui.venues.base import Exchange, MarketData
from densitytui.venues.paper import PaperBroker
from densitytui.venues.sim import SimMarketData

T0 = 1_700_000_000_000
WALL_LIMIT_S = 600.0


def make_config(db: Path, mode: str = "auto", seed: int = 7, **sections: dict[str, Any]) -> Config:
    """The default config on the simulated market at full speed, storing into `db`."""
    data: dict[str, Any] = {
        "app": {"venue": "sim", "mode": mode, "seed": seed},
        "storage": {"url": f"sqlite:///{db}"},
        "sim": {"speed": 0},
        "engine": {"link_id_prefix": "t1", "order_lookup_interval_s": 0.001},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Config.model_validate(data)


@dataclass
class Rig:
    """A running engine, its store, the account it trades and every event it emitted."""

    engine: TradingEngine
    store: Store
    exchange: Exchange
    broker: PaperBroker
    events: list[AppEvent] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    async def until(
        self, predicate: Callable[[], bool], what: str, within_s: float = 900.0,
    ) -> None:
        """Run the market until `predicate` holds; fail after `within_s` of market time."""
        deadline = self.engine.clock_ms() + round(within_s * 1000)
        loop = asyncio.get_running_loop()
        wall_deadline = loop.time() + WALL_LIMIT_S
        while not predicate():
            if self.engine.clock_ms() > deadline or loop.time() > wall_deadline:
                pytest.fail(f"no {what} within {within_s:g} s of market time")
            await asyncio.sleep(0.001)

    async def run_for(self, seconds: float) -> None:
        end = self.engine.clock_ms() + round(seconds * 1000)
        await self.until(lambda: self.engine.clock_ms() >= end, "end", seconds + 1)

    async def run_exactly(self, seconds: float) -> None:
        """Run to `seconds` of market time after the start, to the message (a rig opened with
        `background=False`, for runs that must repeat exactly)."""
        await self.engine.run(until_ms=T0 + round(seconds * 1000))


@asynccontextmanager
async def engine_rig(
    config: Config, *, faulty: bool = False, background: bool = True,
    feed: Callable[[SimMarketData], MarketData] | None = None,
    before_start: Callable[[Rig], Awaitable[None]] | None = None,
) -> AsyncIterator[Rig]:
    """A started engine; with `background` it runs on its own until the block ends. `feed`
    wraps the simulated market's public data; `before_start` prepares the venue."""
    store = await open_store(config.storage)
    brokers: list[PaperBroker] = []

    def account(broker: PaperBroker) -> Exchange:
        brokers.append(broker)
        return FaultyExchange(broker) if faulty else broker

    engine = sim_engine(config, store, start_ms=T0, account=account, feed=feed)
    rig = Rig(engine, store, engine.exchange, brokers[0])
    engine.listeners.append(rig.events.append)
    runner: asyncio.Task[None] | None = None
    try:
        if before_start is not None:
            await before_start(rig)
        await engine.start()
        if background:
            runner = asyncio.create_task(engine.run())
        yield rig
    finally:
        await engine.stop()
        if runner is not None:
            await runner
        await engine.venue.market.close()
        await engine.exchange.close()
        await store.close()
