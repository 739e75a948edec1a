"""`ReplayMarket`: the market engine with the trend judged once per book state, not per trade.

The trading engine asks for a symbol's trend on every trade it evaluates, and each answer sums
the book within `pressure_range_pct` of mid on both sides: on a replay that is most of the run.
The book (and so the pressure) only changes with book messages, so the answer is kept until
the book's state (`last_u`, `ts`, validity) or the 24 h change differs. Without a 24 h change,
or with one too small to reach `min_change_24h_pct`, the trend is FLAT whatever the book, as
`market.trend.classify_trend` decides, and the book is not read at all. The answers are the
market engine's own, only fewer of them are computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from densitytui.market.engine import MarketEngine
from densitytui.model import Trend

if TYPE_CHECKING:
    from densitytui.config import Config

TrendKey = tuple[int, int, int, bool, float]


class ReplayMarket(MarketEngine):
    """`MarketEngine` with the trend cached per book state (see the module doc)."""

    def __init__(self, config: Config, change_24h: Mapping[str, float] | None = None) -> None:
        super().__init__(config, change_24h)
        self._trends: dict[str, tuple[TrendKey, Trend]] = {}

    def trend(self, symbol: str, change_24h: float | None = None) -> Trend:
        change = change_24h if change_24h is not None else self.change_24h(symbol)
        if change is None:
            return Trend.FLAT
        if abs(change) < self.config.strategy(symbol).trend.min_change_24h_pct:
            return Trend.FLAT
        book = self.book(symbol)
        if book is None:
            return Trend.FLAT
        key = (id(book), book.last_u, book.ts, book.valid, change)
        known = self._trends.get(symbol)
        if known is not None and known[0] == key:
            return known[1]
        trend = super().trend(symbol, change)
        self._trends[symbol] = (key, trend)
        return trend
