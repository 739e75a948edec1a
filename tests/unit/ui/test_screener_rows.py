"""The screener's figures on a hand-made book: distance to the mid and the neighbour multiple."""

from __future__ import annotations

import pytest

from densitytui.market.book import OrderBook
from densitytui.model import BookSide, Density
from densitytui.ui.ladder_rows import LadderSettings
from densitytui.ui.widgets.screener import neighbour_multiple, screen_densities


def _book() -> OrderBook:
    book = OrderBook("TESTUSDT")
    bids = [["99.9", "10"], ["99.8", "20"], ["99.7", "500"], ["99.6", "30"], ["99.5", "40"]]
    asks = [["100.1", "10"], ["100.2", "10"], ["100.3", "10"]]
    book.apply(True, bids, asks, 1, 1, 0)
    return book


def _wall(price: float = 99.7, size: float = 500.0) -> Density:
    return Density("TESTUSDT", BookSide.BID, price, size, size * 2, 1_000, 5_000,
                   confirmed_at=2_000, eaten=size * 0.75, pulled=size * 0.25,
                   price_low=price, price_high=price)


def test_the_multiple_is_over_the_nearest_levels_without_its_own() -> None:
    # The four nearest levels on its side: 20, 30, 10, 40 (mean 25): 500 / 25.
    assert neighbour_multiple(_book(), _wall(), 4) == pytest.approx(20.0)
    # The two nearest: 99.8 (20) and 99.6 (30).
    assert neighbour_multiple(_book(), _wall(), 2) == pytest.approx(20.0)
    # Its own level never counts: a wall alone on its side has no neighbours.
    book = OrderBook("TESTUSDT")
    book.apply(True, [["99.7", "500"]], [["100.1", "10"]], 1, 1, 0)
    assert neighbour_multiple(book, _wall(), 4) == 0.0


def test_a_screened_wall_has_its_distance_age_and_lost_shares() -> None:
    book = _book()
    [row] = screen_densities(["TESTUSDT"], lambda s: book, lambda s: [_wall()], 11_000,
                             LadderSettings(), 4)
    # mid (99.9 + 100.1) / 2 = 100.0; the wall at 99.7 is 0.3 % below it.
    assert row.distance_pct == pytest.approx(0.3)
    assert row.notional == pytest.approx(99.7 * 500)
    assert row.age_ms == 10_000
    assert (row.eaten, row.pulled) == (pytest.approx(0.75), pytest.approx(0.25))
    assert row.erosion == pytest.approx(0.5) and not row.spoof and row.confirmed


def test_a_symbol_without_a_book_is_left_out() -> None:
    assert screen_densities(["TESTUSDT"], lambda s: None, lambda s: [_wall()], 0,
                            LadderSettings(), 4) == []
