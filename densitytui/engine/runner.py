"""Build a `TradingEngine` on the configured venue, sharing one market engine with its paper
account (the paper broker fills against the books the engine keeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densitytui.engine.engine import TradingEngine
from densitytui.engine.journal import Journal
from densitytui.market.engine import MarketEngine
from densitytui.venues.base import Exchange, MarketData, Venue
from densitytui.venues.factory import BYBIT_VENUES, bybit_venue, sim_venue
from densitytui.venues.paper import PaperBroker
from densitytui.venues.sim import SimMarketData
from densitytui.venues.sim.feed import Clock, Sleep
from densitytui.venues.sim.history import MINUTE_MS

if TYPE_CHECKING:
    from densitytui.config import Config


class VenueNotBuilt(Exception):
    """The configured venue has no engine path yet (the message says where to go instead)."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How `run` starts the engine beyond the config: the simulated market's pace and start."""

    speed: float | None = None
    start_ms: int | None = None


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


async def open_engine(
    config: Config, journal: Journal, options: EngineOptions = EngineOptions(),
) -> TradingEngine:
    """The engine on `config.app.venue`; `VenueNotBuilt` for a venue that has no engine path."""
    name = config.app.venue
    if name == "sim":
        if options.speed is not None:
            config = config.model_copy(
                update={"sim": config.sim.model_copy(update={"speed": options.speed})},
            )
        start_ms = options.start_ms
        if start_ms is None:
            start_ms = sim_resume_ms(await journal.latest_time_ms(), wall_clock_ms())
        return sim_engine(config, journal, start_ms=start_ms)
    if name not in BYBIT_VENUES:
        raise VenueNotBuilt(
            f"venue {name}: the engine does not run on it yet; use `densitytui scan` to read "
            "recordings",
        )
    market = MarketEngine(config)
    venue = await bybit_venue(config, market.book)
    return TradingEngine(config, venue, journal, clock_ms=wall_clock_ms, market=market)


def sim_resume_ms(stored_ms: int | None, now_ms: int) -> int:
    """Where the simulated market starts: now, or the first whole minute after the store's
    latest time when that is later, so market time never rewinds (a position resumed from the
    store cannot close before it opened). The market starts on a whole minute at or before the
    time given, so the store's own minute is skipped."""
    if stored_ms is None:
        return now_ms
    return max(now_ms, stored_ms - stored_ms % MINUTE_MS + MINUTE_MS)


def sim_engine(
    config: Config,
    journal: Journal,
    *,
    start_ms: int | None = None,
    account: Callable[[PaperBroker], Exchange] | None = None,
    feed: Callable[[SimMarketData], MarketData] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> TradingEngine:
    """The engine on the simulated market in lockstep, on the market's virtual clock.

    `account` wraps the paper account (a venue latency, a fault switch), `feed` the public
    data (a fault switch); `clock` and `sleep` pace the market (tests hold time with their
    own)."""
    market = MarketEngine(config)
    venue = sim_venue(config, market.book, start_ms=start_ms, clock=clock, sleep=sleep)
    data = venue.market
    assert isinstance(data, SimMarketData)
    if account is not None:
        assert isinstance(venue.exchange, PaperBroker)
        venue = Venue(venue.name, data, account(venue.exchange))
    if feed is not None:
        venue = Venue(venue.name, feed(data), venue.exchange)
    return TradingEngine(
        config, venue, journal, clock_ms=data.now_ms, market=market, lockstep=True,
    )
