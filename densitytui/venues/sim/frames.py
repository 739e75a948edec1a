"""Bybit v5 public frames, built from integer prices and sizes and serialised with orjson.

The simulator keeps prices as tick counts and sizes as qty-step counts, so arithmetic is exact and
every string has the instrument's decimals, as Bybit writes them ("61800.20", "0.015", "1250").
Shapes follow ../shared/bybit/docs-examples (ws_public_orderbook50_*, ws_public_trade,
ws_public_ticker_linear_perpetual_snapshot).
"""

from __future__ import annotations

import orjson

from densitytui.venues.sim.instruments import SymbolSpec

Fill = tuple[int, int]
"""(price in ticks, size in qty steps)."""


def fixed(units: int, scale: int) -> str:
    """`units` x 10^-scale as a decimal string with exactly `scale` decimals."""
    if scale == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}"


# Strings kept per symbol and kind: the prices near the touch and the common sizes fit, and a
# long run on many symbols stays small (50,000 let forty symbols grow by hundreds of MB).
FORMAT_CACHE_SIZE = 2_048


class Formats:
    """Strings of one symbol's prices and sizes, cached: the same ones come back all the time."""

    __slots__ = ("_prices", "_qty_div", "_qty_pattern", "_sizes", "price_scale", "qty_scale",
                 "step_units", "tick_units")

    def __init__(self, spec: SymbolSpec) -> None:
        self.price_scale = spec.price_scale
        self.tick_units = spec.tick_units
        self.qty_scale = spec.qty_scale
        self.step_units = spec.step_units
        self._prices: dict[int, str] = {}
        self._sizes: dict[int, str] = {}
        self._qty_div = 10**self.qty_scale
        self._qty_pattern = f"%d.%0{self.qty_scale}d" if self.qty_scale else ""

    def price(self, tick: int) -> str:
        text = self._prices.get(tick)
        if text is None:
            if len(self._prices) >= FORMAT_CACHE_SIZE:
                self._prices.clear()
            text = fixed(tick * self.tick_units, self.price_scale)
            self._prices[tick] = text
        return text

    def qty(self, lots: int) -> str:
        """A size of `lots` qty steps (never negative); cached, as sizes repeat too."""
        text = self._sizes.get(lots)
        if text is None:
            if len(self._sizes) >= FORMAT_CACHE_SIZE:
                self._sizes.clear()
            if self._qty_pattern:
                text = self._qty_pattern % divmod(lots * self.step_units, self._qty_div)
            else:
                text = str(lots * self.step_units)
            self._sizes[lots] = text
        return text

    def levels(self, levels: list[Fill]) -> list[list[str]]:
        price = self.price
        qty = self.qty
        return [[price(tick), qty(lots)] for tick, lots in levels]


def book_frame(
    symbol: str,
    fmt: Formats,
    snapshot: bool,
    bids: list[Fill],
    asks: list[Fill],
    u: int,
    seq: int,
    ts: int,
    cts: int,
) -> bytes:
    """`orderbook.50.{symbol}`: bids best first (descending), asks best first (ascending)."""
    return orjson.dumps({
        "topic": f"orderbook.50.{symbol}",
        "type": "snapshot" if snapshot else "delta",
        "ts": ts,
        "data": {"s": symbol, "b": fmt.levels(bids), "a": fmt.levels(asks), "u": u, "seq": seq},
        "cts": cts,
    })


def trade_frame(symbol: str, ts: int, trades: list[dict[str, object]]) -> bytes:
    """`publicTrade.{symbol}`: one taker order's fills, one entry per price level."""
    return orjson.dumps({
        "topic": f"publicTrade.{symbol}",
        "type": "snapshot",
        "ts": ts,
        "data": trades,
    })


def ticker_frame(symbol: str, snapshot: bool, fields: dict[str, str], cs: int, ts: int) -> bytes:
    """`tickers.{symbol}`: every field in a snapshot, only the changed ones in a delta."""
    return orjson.dumps({
        "topic": f"tickers.{symbol}",
        "type": "snapshot" if snapshot else "delta",
        "data": {"symbol": symbol, **fields},
        "cs": cs,
        "ts": ts,
    })
