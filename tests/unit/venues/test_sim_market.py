"""The simulated market as a stream: deterministic, valid Bybit books, trades that agree with them."""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from decimal import Decimal

import orjson
import pytest

from densitytui.market.book import ApplyResult, OrderBook
from densitytui.venues.sim import SPECS, SimMarket, UnknownSymbol
from densitytui.venues.sim.market import SIM_EPOCH_MS


def _digest(seed: int, seconds: int, symbols: list[str] | None = None) -> str:
    market = SimMarket(seed, symbols)
    market.subscribe(market.symbols)
    digest = hashlib.sha256()
    for frame in market.run(seconds * 1000):
        digest.update(frame)
        digest.update(b"\n")
    return digest.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert _digest(11, 15) == _digest(11, 15)
    assert _digest(11, 15) != _digest(12, 15)


def test_a_symbol_plays_the_same_whatever_else_is_simulated() -> None:
    alone = SimMarket(4, ["ETHUSDT"])
    alone.subscribe(["ETHUSDT"])
    crowd = SimMarket(4)
    crowd.subscribe(crowd.symbols)
    eth_alone = list(alone.run(10_000))
    eth_in_crowd = [f for f in crowd.run(10_000) if b'ETHUSDT"' in f[:40]]
    assert eth_alone == eth_in_crowd
    assert len(eth_alone) > 400


@pytest.fixture(scope="module")
def minute() -> list[dict[str, object]]:
    """One simulated minute of every symbol, decoded."""
    market = SimMarket(21)
    market.subscribe(market.symbols)
    return [orjson.loads(frame) for frame in market.run(60_000)]


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_books_never_cross_u_is_contiguous_and_the_window_stays_fifty_deep(
    minute: list[dict[str, object]],
) -> None:
    books: dict[str, OrderBook] = {}
    pushes: dict[str, list[int]] = defaultdict(list)
    for message in minute:
        if not str(message["topic"]).startswith("orderbook.50."):
            continue
        data = message["data"]
        assert isinstance(data, dict)
        symbol = data["s"]
        first = symbol not in books
        book = books.setdefault(symbol, OrderBook(symbol))
        assert (message["type"] == "snapshot") is first
        result = book.apply(first, data["b"], data["a"], data["u"], data["seq"], message["ts"])
        assert result is (ApplyResult.SNAPSHOT if first else ApplyResult.APPLIED)
        assert not book.crossed()
        assert len(book.bids) == 50 and len(book.asks) == 50
        assert book.absent_deletes == 0
        pushes[symbol].append(int(str(message["ts"])))
    assert set(books) == set(SPECS)
    for symbol, times in pushes.items():
        assert all(ts % 20 == 0 for ts in times)
        assert all(b > a for a, b in itertools.pairwise(times)), symbol
        assert len(times) > 60 * 25, f"{symbol}: only {len(times)} book messages in a minute"


def test_strings_have_the_instrument_decimals_and_steps(minute: list[dict[str, object]]) -> None:
    for message in minute[:5000]:
        topic = str(message["topic"])
        if topic.startswith("orderbook."):
            data = message["data"]
            assert isinstance(data, dict)
            spec = SPECS[data["s"]]
            levels = [*data["b"], *data["a"]]
        elif topic.startswith("publicTrade."):
            trades = message["data"]
            assert isinstance(trades, list)
            spec = SPECS[trades[0]["s"]]
            levels = [[trade["p"], trade["v"]] for trade in trades]
        else:
            continue
        tick = Decimal(spec.tick)
        step = Decimal(spec.qty_step)
        for price, size in levels:
            assert _decimals(price) == spec.price_scale
            assert _decimals(size) == spec.qty_scale
            assert Decimal(price) % tick == 0
            assert Decimal(size) % step == 0


def test_trades_agree_with_the_book_and_come_in_time_order(
    minute: list[dict[str, object]],
) -> None:
    books: dict[str, OrderBook] = {}
    last_trade_time: dict[str, int] = {}
    trades = 0
    last_ts = 0
    for message in minute:
        ts = int(str(message["ts"]))
        assert ts >= last_ts
        last_ts = ts
        topic = str(message["topic"])
        data = message["data"]
        if topic.startswith("orderbook."):
            assert isinstance(data, dict)
            book = books.setdefault(data["s"], OrderBook(data["s"]))
            book.apply(message["type"] == "snapshot", data["b"], data["a"], data["u"],
                       data["seq"], ts)
        elif topic.startswith("publicTrade."):
            assert isinstance(data, list)
            for trade in data:
                book = books[trade["s"]]
                price = float(trade["p"])
                if trade["S"] == "Buy":
                    assert price >= (book.best_ask() or 0), trade
                else:
                    assert price <= (book.best_bid() or 0), trade
                assert trade["T"] >= last_trade_time.get(trade["s"], 0)
                last_trade_time[trade["s"]] = trade["T"]
                trades += 1
    assert trades > 10_000


def test_tickers_push_every_100_ms_and_follow_the_last_trade(
    minute: list[dict[str, object]],
) -> None:
    last_trade: dict[str, str] = {}
    snapshots = set()
    deltas = 0
    for message in minute:
        topic = str(message["topic"])
        if topic.startswith("publicTrade."):
            data = message["data"]
            assert isinstance(data, list)
            last_trade[data[-1]["s"]] = data[-1]["p"]
        elif topic.startswith("tickers."):
            fields = message["data"]
            assert isinstance(fields, dict)
            symbol = fields["symbol"]
            if message["type"] == "snapshot":
                snapshots.add(symbol)
                continue
            deltas += 1
            assert int(str(message["ts"])) % 100 == 0
            if "lastPrice" in fields:
                assert fields["lastPrice"] == last_trade[symbol]
    assert snapshots == set(SPECS)
    assert deltas > 12 * 500


def test_subscriptions_start_with_snapshots_and_stop_cleanly() -> None:
    market = SimMarket(8, ["BTCUSDT", "SOLUSDT"])
    market.subscribe(["BTCUSDT"])
    first = [orjson.loads(frame) for frame in market.run(1_000)]
    assert {m["topic"] for m in first} >= {"orderbook.50.BTCUSDT", "tickers.BTCUSDT"}
    assert all("SOLUSDT" not in str(m["topic"]) for m in first)
    market.subscribe(["SOLUSDT"])
    market.unsubscribe(["BTCUSDT"])
    second = [orjson.loads(frame) for frame in market.run(1_000)]
    assert all("BTCUSDT" not in str(m["topic"]) for m in second)
    sol_books = [m for m in second if m["topic"] == "orderbook.50.SOLUSDT"]
    assert sol_books[0]["type"] == "snapshot"
    assert all(m["type"] == "delta" for m in sol_books[1:])
    last_btc_u = max(m["data"]["u"] for m in first if m["topic"] == "orderbook.50.BTCUSDT")
    market.subscribe(["BTCUSDT"])
    third = [orjson.loads(frame) for frame in market.run(200)]
    again = [m for m in third if m["topic"] == "orderbook.50.BTCUSDT"]
    assert again[0]["type"] == "snapshot"
    assert again[0]["data"]["u"] == last_btc_u + 1
    assert market.subscribed == ["BTCUSDT", "SOLUSDT"]


def test_tickers_make_gainers_losers_and_flat_symbols() -> None:
    market = SimMarket(2)
    for _ in market.run(5_000):
        pass
    tickers = {ticker.symbol: ticker for ticker in market.tickers()}
    assert len(tickers) == 12
    changes = [ticker.change_24h_pct for ticker in tickers.values()]
    assert sum(change >= 2 for change in changes) >= 4
    assert sum(change <= -2 for change in changes) >= 3
    assert sum(abs(change) < 2 for change in changes) >= 2
    for ticker in tickers.values():
        assert ticker.turnover_24h > 10_000_000
        assert ticker.low_24h <= ticker.last_price <= ticker.high_24h
        assert ticker.ts == SIM_EPOCH_MS + 5_000


def test_klines_cover_the_day_before_and_the_simulated_minutes() -> None:
    market = SimMarket(3, ["XRPUSDT"])
    for _ in market.run(130_000):
        pass
    minutes = market.klines("XRPUSDT", 1, 5)
    assert [k.start for k in minutes] == sorted(k.start for k in minutes)
    assert minutes[-1].start == SIM_EPOCH_MS + 120_000
    assert all(k.low <= min(k.open, k.close) <= max(k.open, k.close) <= k.high for k in minutes)
    hours = market.klines("XRPUSDT", 60, 30)
    assert len(hours) == 25
    assert all(b.start - a.start == 3_600_000 for a, b in itertools.pairwise(hours))
    assert abs(hours[-1].close - market.tickers()[0].last_price) < 1e-9
    ticker = market.tickers()[0]
    day = market.klines("XRPUSDT", 1, 2000)
    assert ticker.high_24h == pytest.approx(max(k.high for k in day[-1441:]))


def test_unknown_symbols_are_named() -> None:
    with pytest.raises(UnknownSymbol, match="FOOUSDT"):
        SimMarket(1, ["BTCUSDT", "FOOUSDT"])
    market = SimMarket(1, ["BTCUSDT"])
    with pytest.raises(UnknownSymbol):
        market.subscribe(["ETHUSDT"])
    assert market.subscribed == []
