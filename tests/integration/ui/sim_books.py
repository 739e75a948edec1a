"""Real books for UI tests: a MarketEngine fed with the simulated market's frames."""

from __future__ import annotations

from densitytui.config import Config
from densitytui.market.engine import MarketEngine
from densitytui.venues.sim import SimMarket

SEED = 7
SYMBOL = "XRPUSDT"


def fed_market(seconds: int, symbols: tuple[str, ...] = (SYMBOL,)) -> tuple[SimMarket, MarketEngine]:
    """The simulated market after `seconds` of virtual time, and the market engine it fed."""
    market = SimMarket(SEED, list(symbols))
    market.subscribe(symbols)
    engine = MarketEngine(Config())
    for frame in market.run(seconds * 1000):
        engine.on_frame(frame)
    return market, engine


def advance(market: SimMarket, engine: MarketEngine, ms: int) -> int:
    """Feed `ms` more of virtual time; the number of frames fed."""
    count = 0
    for frame in market.run(ms):
        engine.on_frame(frame)
        count += 1
    return count
