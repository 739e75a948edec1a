"""`BybitMarketData` against the fake: REST paging, subscriptions, and every public fault.

The invariant after each fault: the market engine's book is valid again, healed by a fresh
snapshot from the stream (a resubscription), never from the REST book.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from fake_bybit import FakeBybit
from venue_helpers import eventually, pump

from densitytui.config import Config
from densitytui.market.engine import MarketEngine
from densitytui.venues.bybit import BybitMarketData, RestClient


def _book_valid(engine: MarketEngine, symbol: str) -> bool:
    book = engine.book(symbol)
    return book is not None and book.valid


async def _valid_books(market: BybitMarketData, engine: MarketEngine, symbols: list[str]) -> None:
    await pump(market, engine.on_frame, lambda: all(_book_valid(engine, s) for s in symbols),
               f"valid books of {symbols}")


async def test_instruments_are_paged_to_the_end_with_tick_and_step(fake: FakeBybit,
                                                                   market: BybitMarketData) -> None:
    fake.instruments_page_size = 1
    instruments = await market.instruments()
    symbols = [i.symbol for i in instruments]
    assert symbols == ["BTCUSDT", "ETHUSDT", "BTCPERP"]
    assert [i.symbol for i in instruments if i.tradable] == ["BTCUSDT", "ETHUSDT"]
    btc = instruments[0]
    assert (btc.tick_size, btc.qty_step, btc.min_qty) == (0.1, 0.001, 0.001)
    pages = [path for method, path in fake.requests if path == "/v5/market/instruments-info"]
    assert len(pages) == 3


async def test_tickers_and_klines(fake: FakeBybit, market: BybitMarketData) -> None:
    tickers = {t.symbol: t for t in await market.tickers()}
    assert set(tickers) == {"BTCUSDT", "ETHUSDT"}
    assert tickers["BTCUSDT"].turnover_24h > 1_000_000
    klines = await market.klines("BTCUSDT", 60, 4)
    assert len(klines) == 4
    assert [k.start for k in klines] == sorted(k.start for k in klines)
    assert all(k.low <= min(k.open, k.close) <= max(k.open, k.close) <= k.high for k in klines)


async def test_subscribe_gives_valid_books_trades_and_tickers(fake: FakeBybit,
                                                              market: BybitMarketData) -> None:
    engine = MarketEngine(Config())
    seen: set[str] = set()

    def on_frame(raw: bytes) -> None:
        engine.on_frame(raw)
        if raw.startswith(b'{"topic"'):
            seen.add(orjson.loads(raw)["topic"].split(".")[0])

    await market.subscribe(["BTCUSDT", "ETHUSDT"])
    await pump(market, on_frame, lambda: seen >= {"orderbook", "publicTrade", "tickers"}
               and _book_valid(engine, "BTCUSDT") and _book_valid(engine, "ETHUSDT"),
               "books, trades and tickers")
    # Six topics in batches of two: three subscribe requests, all acknowledged.
    await pump(market, engine.on_frame, lambda: market.unacknowledged == 0, "acks")
    assert engine.stats.gaps == 0


async def test_a_bad_topic_in_a_batch_is_retried_alone(fake: FakeBybit,
                                                       market: BybitMarketData) -> None:
    engine = MarketEngine(Config())
    await market.subscribe(["BTCUSDT", "NOPEUSDT"])
    await pump(market, engine.on_frame,
               lambda: len(market.failed_topics) == 3 and market.unacknowledged == 0,
               "the bad topics to be found")
    assert market.failed_topics == {f"{k}NOPEUSDT" for k in
                                    ("orderbook.50.", "publicTrade.", "tickers.")}
    await _valid_books(market, engine, ["BTCUSDT"])


async def test_dropped_connection_reconnects_and_resubscribes(fake: FakeBybit,
                                                              market: BybitMarketData) -> None:
    engine = MarketEngine(Config())
    await market.subscribe(["BTCUSDT", "ETHUSDT"])
    await _valid_books(market, engine, ["BTCUSDT", "ETHUSDT"])
    assert fake.drop_public() == 1
    # The new connection subscribes again and each book starts over from a fresh snapshot.
    snapshots: set[str] = set()

    def on_frame(raw: bytes) -> None:
        engine.on_frame(raw)
        if market.connections == 2 and raw.startswith(b'{"topic":"orderbook.50.') \
                and b'"type":"snapshot"' in raw[:60]:
            snapshots.add(orjson.loads(raw)["data"]["s"])

    await pump(market, on_frame, lambda: snapshots == {"BTCUSDT", "ETHUSDT"}, "new snapshots")
    assert _book_valid(engine, "BTCUSDT") and _book_valid(engine, "ETHUSDT")
    assert fake.public_connections == 2


async def test_skipped_u_is_a_gap_healed_by_resubscribing(fake: FakeBybit,
                                                          market: BybitMarketData) -> None:
    engine = MarketEngine(Config())
    await market.subscribe(["BTCUSDT"])
    await _valid_books(market, engine, ["BTCUSDT"])
    rest_calls = len(fake.requests)
    fake.faults.skip_u = 1
    await pump(market, engine.on_frame, lambda: engine.stats.gaps >= 1, "the gap")
    assert not _book_valid(engine, "BTCUSDT")
    await _valid_books(market, engine, ["BTCUSDT"])
    assert market.gaps == 1 and market.resyncs == 1
    assert market.connections == 1
    # Healed from the stream: no REST order book was asked for.
    assert all(path != "/v5/market/orderbook" for _, path in fake.requests[rest_calls:])


async def test_u_equal_one_is_a_snapshot_not_a_gap(fake: FakeBybit,
                                                   market: BybitMarketData) -> None:
    engine = MarketEngine(Config())
    await market.subscribe(["BTCUSDT"])
    await _valid_books(market, engine, ["BTCUSDT"])
    fake.faults.restart_u.add("BTCUSDT")
    book = engine.book("BTCUSDT")
    assert book is not None
    await pump(market, engine.on_frame, lambda: book.last_u in (1, 2, 3), "the restart")
    await pump(market, engine.on_frame, lambda: book.last_u >= 5, "deltas after the restart")
    assert book.valid and engine.stats.gaps == 0 and market.gaps == 0


async def test_data_before_the_ack_is_kept(fake: FakeBybit, market: BybitMarketData) -> None:
    fake.faults.data_before_ack = True
    frames: list[bytes] = []
    await market.subscribe(["BTCUSDT"])
    await pump(market, frames.append,
               lambda: any(b'"op":"subscribe"' in f for f in frames), "the ack")
    ack = next(i for i, f in enumerate(frames) if b'"op":"subscribe"' in f)
    assert any(f.startswith(b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot"')
               for f in frames[:ack])
    engine = MarketEngine(Config())
    for frame in frames:
        engine.on_frame(frame)
    await _valid_books(market, engine, ["BTCUSDT"])


async def test_never_acked_subscription_still_streams(fake: FakeBybit,
                                                      market: BybitMarketData) -> None:
    fake.faults.never_ack = True
    engine = MarketEngine(Config())
    await market.subscribe(["BTCUSDT"])
    await _valid_books(market, engine, ["BTCUSDT"])
    assert market.unacknowledged == 2  # three topics in batches of two


async def test_silence_trips_the_watchdog_and_reconnects(fake: FakeBybit) -> None:
    quiet = BybitMarketData(RestClient(fake.rest_url, None, threads=1), fake.public_ws_url,
                            ping_interval_s=30.0, stale_after_s=0.3, reconnect_min_s=0.05)
    try:
        await quiet.subscribe([])
        messages = quiet.messages()
        consumer = asyncio.create_task(_drain(messages))
        await eventually(lambda: quiet.stale_reconnects >= 1 and quiet.connections >= 2,
                         "a watchdog reconnect")
        consumer.cancel()
    finally:
        await quiet.close()


async def _drain(messages: object) -> None:
    async for _ in messages:  # type: ignore[attr-defined]
        pass


@pytest.mark.parametrize("interval", [0.2])
async def test_json_ping_gets_a_pong(fake: FakeBybit, interval: float) -> None:
    market = BybitMarketData(RestClient(fake.rest_url, None, threads=1), fake.public_ws_url,
                             ping_interval_s=interval, stale_after_s=10.0)
    frames: list[bytes] = []
    try:
        await market.subscribe([])
        await pump(market, frames.append, lambda: any(b'"ret_msg":"pong"' in f for f in frames),
                   "a pong")
    finally:
        await market.close()
    pong = orjson.loads(next(f for f in frames if b"pong" in f))
    assert pong["op"] == "ping" and pong["success"] is True


async def test_resync_on_request_brings_a_fresh_snapshot_once(fake: FakeBybit,
                                                              market: BybitMarketData) -> None:
    engine = MarketEngine(Config())
    await market.subscribe(["BTCUSDT"])
    await _valid_books(market, engine, ["BTCUSDT"])
    await market.resync(["BTCUSDT"])
    await market.resync(["BTCUSDT"])  # already waiting for its snapshot: not asked twice
    assert market.resyncs == 1
    snapshots = 0

    def on_frame(raw: bytes) -> None:
        nonlocal snapshots
        engine.on_frame(raw)
        if raw.startswith(b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot"'):
            snapshots += 1

    await pump(market, on_frame, lambda: snapshots == 1, "the fresh snapshot")
    assert _book_valid(engine, "BTCUSDT")
    await market.resync(["BTCUSDT"])  # answered: a new request goes out
    assert market.resyncs == 2
