"""The simulated market's dozen contracts: Bybit-like trading rules and the numbers that shape them.

Rules (tick, qty step, minimum qty, minimum notional, largest market order) are modelled on Bybit's
`instruments-info` for the real contracts (BTCUSDT from the docs example: tick 0.10, step 0.001,
min 0.001, min notional 5, max market qty 500); the others are plausible, not fetched. The 24 h
changes make gainers, losers and flat symbols; books of trending symbols lean the trend's way so
the book-pressure part of the trend rule (DESIGN §3) holds as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from densitytui.model import Instrument


@dataclass(frozen=True)
class SymbolSpec:
    """One simulated contract: exchange rules and market character."""

    symbol: str
    price: float
    tick: str
    price_scale: int
    qty_step: str
    min_qty: str
    max_mkt_qty: str
    max_leverage: float
    change_24h_pct: float
    turnover_24h: float
    # Mean notional (USDT) of a book level at the touch; deeper levels grow from it.
    level_usdt: float
    # Mean distance between occupied price levels, in ticks (1 = every tick is quoted).
    gap_ticks: float
    # Book events (resizes, new levels, cancelled levels) and small market orders per second.
    events_per_s: float
    trades_per_s: float
    min_notional: float = 5.0

    @cached_property
    def tick_units(self) -> int:
        """The tick in units of the last price decimal (0.10 with 2 decimals is 10)."""
        return int(Decimal(self.tick).scaleb(self.price_scale))

    @cached_property
    def qty_scale(self) -> int:
        return max(0, -Decimal(self.qty_step).normalize().as_tuple().exponent)  # type: ignore[operator]

    @cached_property
    def step_units(self) -> int:
        """The quantity step in units of the last quantity decimal (10 for a step of 10)."""
        return int(Decimal(self.qty_step).scaleb(self.qty_scale))

    @property
    def tick_size(self) -> float:
        return float(self.tick)

    @property
    def step_size(self) -> float:
        return float(self.qty_step)

    @property
    def trend_sign(self) -> int:
        """+1 for a gainer beyond ±2 %, -1 for a loser, 0 for a flat symbol."""
        if self.change_24h_pct >= 2.0:
            return 1
        if self.change_24h_pct <= -2.0:
            return -1
        return 0

    def instrument(self) -> Instrument:
        return Instrument(
            symbol=self.symbol,
            tick_size=self.tick_size,
            qty_step=self.step_size,
            min_qty=float(self.min_qty),
            min_notional=self.min_notional,
            max_market_qty=float(self.max_mkt_qty),
            max_leverage=self.max_leverage,
        )


# Prices as on 2024-12-02, the simulated market's default start.
CATALOGUE: tuple[SymbolSpec, ...] = (
    SymbolSpec("BTCUSDT", 95_840.0, "0.10", 2, "0.001", "0.001", "500.000", 100.0,
               3.2, 5.2e9, 4_500.0, 3.0, 150.0, 14.0),
    SymbolSpec("ETHUSDT", 3_641.5, "0.01", 2, "0.01", "0.01", "3000.00", 100.0,
               5.8, 2.1e9, 4_500.0, 3.0, 130.0, 12.0),
    SymbolSpec("SOLUSDT", 228.41, "0.010", 3, "0.1", "0.1", "40000.0", 100.0,
               -4.6, 9.0e8, 4_000.0, 1.5, 100.0, 9.0),
    SymbolSpec("XRPUSDT", 2.4817, "0.0001", 4, "1", "1", "2000000", 75.0,
               -7.9, 6.0e8, 4_000.0, 1.2, 90.0, 8.0),
    SymbolSpec("DOGEUSDT", 0.43125, "0.00001", 5, "1", "1", "5000000", 75.0,
               11.4, 5.0e8, 4_000.0, 1.5, 90.0, 8.0),
    SymbolSpec("BNBUSDT", 652.35, "0.01", 2, "0.01", "0.01", "2500.00", 75.0,
               0.4, 1.1e8, 3_000.0, 3.0, 60.0, 4.0),
    SymbolSpec("ADAUSDT", 1.0987, "0.0001", 4, "1", "1", "3000000", 75.0,
               -2.9, 1.5e8, 2_500.0, 1.0, 60.0, 5.0),
    SymbolSpec("AVAXUSDT", 50.213, "0.001", 3, "0.1", "0.1", "50000.0", 50.0,
               6.7, 1.2e8, 2_000.0, 2.0, 60.0, 5.0),
    SymbolSpec("LINKUSDT", 20.145, "0.001", 3, "0.1", "0.1", "100000.0", 50.0,
               -0.8, 9.0e7, 2_000.0, 1.5, 50.0, 4.0),
    SymbolSpec("LTCUSDT", 124.62, "0.01", 2, "0.1", "0.1", "10000.0", 50.0,
               -5.3, 8.0e7, 2_000.0, 1.2, 50.0, 4.0),
    SymbolSpec("TONUSDT", 6.6123, "0.0001", 4, "0.1", "0.1", "200000.0", 50.0,
               0.9, 6.0e7, 2_000.0, 3.0, 50.0, 4.0),
    SymbolSpec("SUIUSDT", 3.4921, "0.0001", 4, "10", "10", "1000000", 50.0,
               14.2, 3.5e8, 3_000.0, 2.0, 70.0, 6.0),
)

SPECS: dict[str, SymbolSpec] = {spec.symbol: spec for spec in CATALOGUE}
