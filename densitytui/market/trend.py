"""Trend per DESIGN.md §3: the 24 h change gives the direction, book pressure must agree.

Book pressure is the size resting within `pressure_range_pct` of mid, bids against asks. Without
a 24 h change (a recording without tickers and no explicit value) the trend is FLAT: it is never
invented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from densitytui.market.book import OrderBook
from densitytui.model import BookSide, Trend

if TYPE_CHECKING:
    from densitytui.config import TrendSection


def book_pressure(book: OrderBook, range_pct: float) -> tuple[float, float]:
    """(bid volume, ask volume) within `range_pct` % of mid; zeros without a two-sided book."""
    bids = book.volume_near_mid(BookSide.BID, range_pct)
    return bids, book.volume_near_mid(BookSide.ASK, range_pct)


def classify_trend(
    change_24h_pct: float | None, bid_volume: float, ask_volume: float, rules: TrendSection,
) -> Trend:
    """UP when the change reaches +min_change_24h_pct and bids outweigh asks by pressure_ratio;
    DOWN for the mirror image; FLAT otherwise."""
    if change_24h_pct is None:
        return Trend.FLAT
    ratio = rules.pressure_ratio
    threshold = rules.min_change_24h_pct
    if change_24h_pct >= threshold and bid_volume > 0.0 and bid_volume >= ratio * ask_volume:
        return Trend.UP
    if change_24h_pct <= -threshold and ask_volume > 0.0 and ask_volume >= ratio * bid_volume:
        return Trend.DOWN
    return Trend.FLAT


def trend_of(book: OrderBook, change_24h_pct: float | None, rules: TrendSection) -> Trend:
    """The trend of one symbol from its book and 24 h change (the cheap test first: without
    enough change the book's pressure is not summed)."""
    if not book.valid or change_24h_pct is None or abs(change_24h_pct) < rules.min_change_24h_pct:
        return Trend.FLAT
    bids, asks = book_pressure(book, rules.pressure_range_pct)
    return classify_trend(change_24h_pct, bids, asks, rules)
