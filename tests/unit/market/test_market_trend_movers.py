"""Trend from 24 h change and book pressure; movers from instruments and tickers."""

from __future__ import annotations

from pathlib import Path

import pytest

from densitytui.config import MoversSection, TrendSection
from densitytui.market.book import OrderBook
from densitytui.market.decode import decode_instruments, decode_tickers
from densitytui.market.movers import diff_movers, select_movers
from densitytui.market.trend import book_pressure, classify_trend, trend_of
from densitytui.model import Instrument, Ticker, Trend

RULES = TrendSection()


@pytest.mark.parametrize(
    ("change", "bids", "asks", "trend"),
    [
        (2.0, 12.0, 10.0, Trend.UP),
        (8.1, 30.0, 10.0, Trend.UP),
        (1.99, 30.0, 10.0, Trend.FLAT),  # not enough change
        (5.0, 11.9, 10.0, Trend.FLAT),  # not enough pressure
        (-2.0, 10.0, 12.0, Trend.DOWN),
        (-5.0, 10.0, 11.0, Trend.FLAT),
        (-5.0, 30.0, 10.0, Trend.FLAT),  # falling, but bids outweigh asks
        (5.0, 10.0, 0.0, Trend.UP),  # no asks near mid at all
        (5.0, 0.0, 0.0, Trend.FLAT),
        (None, 30.0, 10.0, Trend.FLAT),  # never invented without a 24 h change
    ],
)
def test_classify_trend(change: float | None, bids: float, asks: float, trend: Trend) -> None:
    assert classify_trend(change, bids, asks, RULES) is trend


def test_trend_of_a_book_counts_volume_within_the_pressure_range() -> None:
    book = OrderBook("X")
    book.apply(
        True,
        [["99.5", "10"], ["99.0", "5"], ["90.0", "100"]],  # 90 is beyond 1 % of mid
        [["100.5", "4"], ["101.0", "4"]],
        1, 0, 1,
    )
    assert book_pressure(book, 1.0) == (15.0, 8.0)
    assert trend_of(book, 3.0, RULES) is Trend.UP
    assert trend_of(book, -3.0, RULES) is Trend.FLAT
    book.invalidate()
    assert trend_of(book, 3.0, RULES) is Trend.FLAT


def _instrument(symbol: str, **changes: str) -> Instrument:
    return Instrument(symbol, 0.1, 0.001, 0.001, 5.0, 100.0, **changes)  # type: ignore[arg-type]


def test_movers_keep_tradable_usdt_perpetuals_with_enough_turnover() -> None:
    instruments = [
        _instrument("AUSDT"), _instrument("BUSDT"), _instrument("CUSDT"), _instrument("DUSDT"),
        _instrument("EUSDT", status="PreLaunch"), _instrument("BTC-26DEC25",
                                                              contract_type="LinearFutures"),
        _instrument("FUSDC", settle_coin="USDC"), _instrument("GUSDT"),
    ]
    tickers = [
        Ticker("AUSDT", 1.0, 12.0, 5e6), Ticker("BUSDT", 1.0, -9.0, 5e6),
        Ticker("CUSDT", 1.0, 3.0, 5e6), Ticker("DUSDT", 1.0, 40.0, 5e5),  # too little turnover
        Ticker("EUSDT", 1.0, 50.0, 5e7), Ticker("BTC-26DEC25", 1.0, 60.0, 5e7),
        Ticker("FUSDC", 1.0, 70.0, 5e7), Ticker("GUSDT", 1.0, -1.0, 2e6),
        Ticker("HUSDT", 1.0, 80.0, 5e7),  # no instrument listed
    ]
    movers = select_movers(instruments, tickers, MoversSection(top_gainers=2, top_losers=2))
    assert [t.symbol for t in movers.gainers] == ["AUSDT", "CUSDT"]
    assert [t.symbol for t in movers.losers] == ["BUSDT", "GUSDT"]
    assert movers.symbols == {"AUSDT", "BUSDT", "CUSDT", "GUSDT"}


def test_a_symbol_is_never_both_gainer_and_loser_and_ties_break_by_name() -> None:
    instruments = [_instrument(s) for s in ("AUSDT", "BUSDT", "CUSDT")]
    tickers = [Ticker("CUSDT", 1, 5.0, 2e6), Ticker("AUSDT", 1, 5.0, 2e6),
               Ticker("BUSDT", 1, 1.0, 2e6)]
    movers = select_movers(instruments, tickers, MoversSection(top_gainers=20, top_losers=20))
    assert [t.symbol for t in movers.gainers] == ["AUSDT", "CUSDT", "BUSDT"]
    assert movers.losers == ()


def test_movers_from_bybit_examples(docs_examples: Path) -> None:
    instruments, _ = decode_instruments(
        (docs_examples / "rest_market_instruments_info_linear_response.json").read_bytes()
    )
    tickers = decode_tickers(
        (docs_examples / "rest_market_tickers_inverse_response.json").read_bytes()
    )
    btc = Ticker("BTCUSDT", 60000.0, 3.0, 2e9)
    movers = select_movers(instruments, [*tickers, btc], MoversSection())
    # BTCUSD is an inverse contract: it has no linear instrument and is left out.
    assert [t.symbol for t in movers.gainers] == ["BTCUSDT"]


def test_diff_keeps_symbols_with_an_open_position() -> None:
    diff = diff_movers({"AUSDT", "BUSDT", "CUSDT"}, {"CUSDT", "DUSDT"}, held={"BUSDT"})
    assert diff.added == {"DUSDT"}
    assert diff.removed == {"AUSDT"}
    assert diff.kept_for_positions == {"BUSDT"}
