"""Build a `TradingEngine` on the configured venue, sharing one market engine with its paper
account (the paper broker fills against the books the engine keeps)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densitytui.engine.engine import TradingEngine
from densitytui.engine.journal import Journal
from densitytui.market.engine import MarketEngine
from densitytui.venues.base import Venue
from densitytui.venues.factory import BYBIT_VENUES, bybit_venue, sim_venue

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
    market = MarketEngine(config)
    name = config.app.venue
    venue: Venue
    if name == "sim":
        if options.speed is not None:
            config = config.model_copy(
                update={"sim": config.sim.model_copy(update={"speed": options.speed})},
            )
        venue = sim_venue(config, market.book, start_ms=options.start_ms)
        clock = venue.market.now_ms  # type: ignore[attr-defined]
    elif name in BYBIT_VENUES:
        venue = await bybit_venue(config, market.book)
        clock = wall_clock_ms
    else:
        raise VenueNotBuilt(
            f"venue {name}: the engine does not run on it yet; use `densitytui scan` to read "
            "recordings",
        )
    return TradingEngine(
        config, venue, journal, clock_ms=clock, market=market, lockstep=name == "sim",
    )
