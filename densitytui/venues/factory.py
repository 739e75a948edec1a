"""Wiring of ready-made venues: market data plus the account that trades on it."""

from __future__ import annotations

import asyncio
import time

from densitytui.config import Config
from densitytui.venues.base import Venue
from densitytui.venues.paper import BookLookup, PaperBroker
from densitytui.venues.sim import SimMarket, SimMarketData
from densitytui.venues.sim.feed import Clock, Sleep


def sim_venue(
    config: Config,
    book_for: BookLookup,
    *,
    start_ms: int | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> Venue:
    """The default venue: the simulated market (seed, speed and symbols from the config) and a
    paper account on it.

    `book_for` gives the paper broker the books the market engine keeps from this venue's frames,
    and the engine passes each decoded trade to `venue.exchange.on_trade` so stops trigger. The
    account's clock is the market's virtual time. The market starts at `start_ms` (default: now),
    so the same seed plays the same market whatever the start, shifted in time.
    """
    market = SimMarket(
        config.app.seed,
        config.sim.symbols or None,
        start_ms=round(time.time() * 1000) if start_ms is None else start_ms,
    )
    data = SimMarketData(market, speed=config.sim.speed, clock=clock, sleep=sleep)
    broker = PaperBroker.from_config(config, market.instruments(), book_for, data.now_ms, "sim")
    return Venue("sim", data, broker)
