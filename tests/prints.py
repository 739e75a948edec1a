"""Trades as the decoder makes them, for tests that feed a tape or a density tracker."""

from __future__ import annotations

from densitytui.market.decode import TradePrint
from densitytui.model import Side


def trade(ts: int, price: float, size: float, buy: bool) -> TradePrint:
    """A trade at `ts` ms; `buy`: the taker bought (lifted an ask)."""
    return TradePrint(ts, price, size, Side.BUY if buy else Side.SELL, str(ts))
