"""The built-in simulated market: a dozen Bybit-like contracts, deterministic from a seed.

`SimMarket` is the pure generator (virtual time, Bybit v5 public frames as bytes); `SimMarketData`
is the venue's `MarketData` over it, paced against a clock by a speed factor.
"""

from densitytui.venues.sim.feed import SimMarketData
from densitytui.venues.sim.instruments import CATALOGUE, SPECS, SymbolSpec
from densitytui.venues.sim.market import SIM_EPOCH_MS, SimMarket, UnknownSymbol

__all__ = [
    "CATALOGUE",
    "SIM_EPOCH_MS",
    "SPECS",
    "SimMarket",
    "SimMarketData",
    "SymbolSpec",
    "UnknownSymbol",
]
