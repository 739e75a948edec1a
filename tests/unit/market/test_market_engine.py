"""The market engine: frames in, books, densities, tape and tickers out; bad frames counted."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from densitytui.config import parse_config
from densitytui.market.book import STALE_RUN_LIMIT
from densitytui.market.engine import MarketEngine
from densitytui.model import BookSide, DensityEventKind, Instrument, Kline, Trend

CONFIG = parse_config({"density": {"min_notional_usdt": 1000.0}})


def book(kind: str, u: int, bids: list[list[str]], asks: list[list[str]], ts: int,
         symbol: str = "TESTUSDT") -> bytes:
    return orjson.dumps({
        "topic": f"orderbook.50.{symbol}", "type": kind, "ts": ts,
        "data": {"s": symbol, "b": bids, "a": asks, "u": u, "seq": u * 10}, "cts": ts,
    })


def trade(ts: int, price: str, size: str, side: str, symbol: str = "TESTUSDT",
          **flags: bool) -> bytes:
    return orjson.dumps({
        "topic": f"publicTrade.{symbol}", "type": "snapshot", "ts": ts,
        "data": [{"T": ts, "s": symbol, "S": side, "v": size, "p": price, "i": str(ts),
                  **flags}],
    })


def ticker(kind: str, ts: int, **fields: str) -> bytes:
    return orjson.dumps({
        "topic": "tickers.TESTUSDT", "type": kind, "ts": ts,
        "data": {"symbol": "TESTUSDT", **fields},
    })


SNAPSHOT = book(
    "snapshot", 100,
    [[f"{99 + i / 10:.1f}", "1"] for i in range(10)],
    [[f"{100.1 + i / 10:.1f}", "1"] for i in range(10)],
    1_000,
)


def test_frames_build_a_book_and_return_density_events() -> None:
    engine = MarketEngine(CONFIG)
    assert engine.on_frame(SNAPSHOT) == ()
    events = engine.on_frame(book("delta", 101, [["99.5", "12"]], [], 1_100))
    assert [e.kind for e in events] == [DensityEventKind.APPEARED]
    assert engine.densities("TESTUSDT")[0].price == 99.5
    engine.on_frame(trade(1_150, "99.5", "2", "Sell"))
    assert engine.densities("TESTUSDT")[0].eaten == 2.0
    tape = engine.tape("TESTUSDT")
    assert tape is not None
    assert tape.last_price == 99.5
    assert engine.book("TESTUSDT").best_bid() == 99.9  # type: ignore[union-attr]
    assert engine.stats.messages["orderbook"] == 2
    assert engine.stats.messages["publicTrade"] == 1


def test_malformed_frames_are_counted_per_kind_and_skipped() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    frames = [
        b"garbage",
        book("delta", 101, [["99.5", "-3"]], [], 1_100),
        b'{"topic":"publicTrade.TESTUSDT","type":"snapshot","ts":1,"data":[{"T":1}]}',
        b'{"topic":"tickers.TESTUSDT","type":"snapshot","ts":1,"data":[]}',
    ]
    for frame in frames:
        assert engine.on_frame(frame) == ()
    assert engine.stats.malformed == {
        "orderbook": 1, "publicTrade": 1, "tickers": 1, "control": 0, "other": 0, "invalid": 1,
    }
    assert engine.stats.total_malformed == 4
    assert engine.stats.total_messages == 5
    # The bad delta changed nothing; the next delta shows the skipped `u` as a gap.
    assert engine.book("TESTUSDT").size_at(BookSide.BID, 99.5) == 1.0  # type: ignore[union-attr]
    engine.on_frame(book("delta", 102, [["99.4", "2"]], [], 1_200))
    assert engine.stats.gaps == 1
    assert engine.resync_requests == ["TESTUSDT"]


def test_a_gap_asks_for_a_resync_and_only_the_next_stream_snapshot_heals_it() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.4", "2"]], [], 1_100))
    assert engine.book_valid("TESTUSDT")
    engine.on_frame(book("delta", 103, [["99.3", "2"]], [], 1_200))
    assert engine.stats.gaps == 1
    assert not engine.book_valid("TESTUSDT")
    engine.on_frame(book("delta", 104, [["99.2", "2"]], [], 1_300))
    assert engine.stats.ignored == 1
    assert engine.take_resync_requests() == ["TESTUSDT"]
    assert engine.resync_requests == []
    # Deltas of any `u` are ignored until the resubscribed stream sends its snapshot.
    engine.on_frame(book("delta", 101, [["99.4", "2"]], [], 1_400))
    engine.on_frame(book("delta", 200, [["99.4", "2"]], [], 1_450))
    assert engine.stats.ignored == 3
    assert not engine.book_valid("TESTUSDT")
    engine.on_frame(book("snapshot", 7, [["99.0", "1"]], [["100.0", "1"]], 1_500))
    assert engine.book_valid("TESTUSDT")
    engine.on_frame(book("delta", 8, [["99.1", "3"]], [], 1_600))
    assert engine.book("TESTUSDT").bids.prices == [99.0, 99.1]  # type: ignore[union-attr]


WALL_SNAPSHOT = book(
    "snapshot", 300,
    [[f"{99 + i / 10:.1f}", "12" if i == 5 else "1"] for i in range(10)],
    [[f"{100.1 + i / 10:.1f}", "1"] for i in range(10)],
    30_000,
)


@pytest.mark.parametrize(
    "break_book",
    [
        pytest.param(lambda e: e.on_frame(book("delta", 103, [["99.3", "2"]], [], 1_200)),
                     id="gap"),
        pytest.param(lambda e: e.on_frame(book("delta", 102, [["100.1", "2"]], [], 1_200)),
                     id="crossed"),
        pytest.param(lambda e: [e.on_frame(book("delta", 90, [], [], 1_200))
                                for _ in range(STALE_RUN_LIMIT + 1)], id="stale-run"),
        pytest.param(lambda e: e.invalidate("TESTUSDT", 1_200), id="connection-lost"),
    ],
)
def test_an_invalid_book_freezes_its_densities_until_the_stream_snapshot(
    break_book: Callable[[MarketEngine], object],
) -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.5", "12"]], [], 1_100))
    break_book(engine)
    assert not engine.book_valid("TESTUSDT")
    assert engine.resync_requests == ["TESTUSDT"]
    (density,) = engine.densities("TESTUSDT")
    assert density.frozen
    # Long past min_lifetime_s (10 s), trades arrive: nothing is confirmed in an invalid book.
    events = engine.on_frame(trade(20_000, "99.9", "1", "Buy"))
    assert DensityEventKind.CONFIRMED not in [e.kind for e in events]
    assert density.confirmed_at is None
    events = engine.on_frame(WALL_SNAPSHOT)
    assert engine.book_valid("TESTUSDT")
    assert engine.resync_requests == []
    (density,) = engine.densities("TESTUSDT")
    assert not density.frozen
    assert any(e.kind is DensityEventKind.CHANGED and not e.density.frozen for e in events)


def test_a_reconnect_invalidates_every_book_until_its_new_snapshot_without_a_resync() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.5", "12"]], [], 1_100))
    other = book("snapshot", 5, [["9.9", "1"]], [["10.1", "1"]], 1_100, symbol="OTHERUSDT")
    engine.on_frame(other)
    engine.reconnected(1_200)
    assert engine.stats.reconnects == 1
    assert not engine.book_valid("TESTUSDT") and not engine.book_valid("OTHERUSDT")
    # Subscribing again brings the snapshots: nothing to resubscribe.
    assert engine.resync_requests == []
    (density,) = engine.densities("TESTUSDT")
    assert density.frozen
    # A trade of the new connection, long past min_lifetime_s, confirms nothing in the old book,
    # and a delta before the snapshot is ignored, whatever its `u`.
    events = engine.on_frame(trade(20_000, "99.9", "1", "Buy"))
    assert DensityEventKind.CONFIRMED not in [e.kind for e in events]
    engine.on_frame(book("delta", 102, [["99.4", "2"]], [], 20_100))
    assert engine.stats.ignored == 1
    engine.on_frame(WALL_SNAPSHOT)
    assert engine.book_valid("TESTUSDT")
    assert not engine.book_valid("OTHERUSDT")
    assert not engine.densities("TESTUSDT")[0].frozen


def test_a_long_stale_run_is_a_gap_that_asks_for_a_resync() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    for u in range(10, 10 + STALE_RUN_LIMIT):
        engine.on_frame(book("delta", u, [["99.4", "2"]], [], 1_100))
    assert engine.book_valid("TESTUSDT")
    assert engine.resync_requests == []
    engine.on_frame(book("delta", 50, [["99.4", "2"]], [], 1_200))
    assert not engine.book_valid("TESTUSDT")
    assert (engine.stats.stale, engine.stats.gaps) == (STALE_RUN_LIMIT, 1)
    assert engine.resync_requests == ["TESTUSDT"]


def test_a_crossed_book_is_invalid_counted_and_asks_for_a_resync() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["100.2", "1"]], [], 1_100))
    assert not engine.book_valid("TESTUSDT")
    assert engine.stats.crossed == 1
    assert engine.resync_requests == ["TESTUSDT"]
    engine.on_frame(SNAPSHOT)
    assert engine.book_valid("TESTUSDT")
    assert engine.resync_requests == []
    assert not engine.book_valid("OTHERUSDT")


def test_block_and_rpi_trades_are_not_eaten_nor_aggression() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.5", "12"]], [], 1_100))
    engine.on_frame(trade(1_150, "99.5", "5", "Sell", BT=True))
    engine.on_frame(trade(1_160, "99.5", "4", "Sell", RPI=True))
    engine.on_frame(trade(1_170, "99.5", "2", "Sell", BT=False, RPI=False))
    (density,) = engine.densities("TESTUSDT")
    assert density.eaten == 2.0
    tape = engine.tape("TESTUSDT")
    assert tape is not None
    assert tape.taker_volume(1_200) == (0.0, 99.5 * 2)
    assert tape.trades == 1
    assert engine.stats.off_book_trades == 2
    assert engine.stats.messages["publicTrade"] == 3


def test_a_malformed_trade_is_counted_and_never_applied() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.5", "12"]], [], 1_100))
    for price, size in (("NaN", "1"), ("inf", "1"), ("-99.5", "1"), ("0", "1"), ("99.5", "0"),
                        ("99.5", "-3")):
        assert engine.on_frame(trade(1_150, price, size, "Sell")) == ()
    assert engine.stats.malformed["publicTrade"] == 6
    assert engine.densities("TESTUSDT")[0].eaten == 0.0
    assert engine.tape("TESTUSDT").trades == 0  # type: ignore[union-attr]
    good = orjson.loads(trade(1_160, "99.5", "2", "Sell"))
    good["data"].append({**good["data"][0], "p": "nan"})
    engine.on_frame(orjson.dumps(good))
    assert engine.stats.malformed_trades == 1
    assert engine.densities("TESTUSDT")[0].eaten == 2.0


def test_a_malformed_level_leaves_the_book_as_it_was() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    for level in (["NaN", "1"], ["99.5", "inf"], ["0", "1"], ["-1", "1"], ["99.5", "-1"]):
        assert engine.on_frame(book("delta", 101, [["99.6", "5"], level], [], 1_100)) == ()
    assert engine.stats.malformed["orderbook"] == 5
    assert engine.book("TESTUSDT").size_at(BookSide.BID, 99.6) == 1.0  # type: ignore[union-attr]
    assert engine.book_valid("TESTUSDT")


def test_stale_deltas_are_counted() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 99, [["99.4", "2"]], [], 1_100))
    assert engine.stats.stale == 1
    assert engine.resync_requests == []


def test_tickers_give_the_24h_change_and_the_trend() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.8", "20"]], [], 1_100))
    assert engine.trend("TESTUSDT") is Trend.FLAT  # no 24 h change known
    engine.on_frame(ticker("snapshot", 1_200, price24hPcnt="0.05", lastPrice="99.9",
                           turnover24h="2000000"))
    assert engine.change_24h("TESTUSDT") == pytest.approx(5.0)
    assert engine.trend("TESTUSDT") is Trend.UP
    engine.on_frame(ticker("delta", 1_300, price24hPcnt="-0.05"))
    assert engine.trend("TESTUSDT") is Trend.FLAT  # falling, but the bids outweigh the asks
    assert engine.ticker("TESTUSDT").turnover_24h == 2_000_000  # type: ignore[union-attr]
    assert engine.trend("TESTUSDT", change_24h=8.1) is Trend.UP


def test_an_explicit_24h_change_stands_for_recordings_without_tickers() -> None:
    engine = MarketEngine(CONFIG, change_24h={"TESTUSDT": -3.0})
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [], [["100.2", "20"]], 1_100))
    assert engine.change_24h("TESTUSDT") == -3.0
    assert engine.trend("TESTUSDT") is Trend.DOWN


def test_auto_threshold_follows_turnover() -> None:
    config = parse_config({"density": {"min_notional_usdt": 1000.0,
                                       "auto_turnover_fraction": 0.001}})
    engine = MarketEngine(config)
    engine.on_frame(SNAPSHOT)
    engine.on_frame(book("delta", 101, [["99.5", "12"]], [], 1_100))
    assert len(engine.densities("TESTUSDT")) == 1
    engine.on_frame(ticker("snapshot", 1_200, turnover24h="5000000"))
    assert engine.tracker("TESTUSDT").threshold == 5_000.0  # type: ignore[union-attr]
    assert engine.densities("TESTUSDT") == []
    (gone,) = engine.finish()
    assert gone.outcome is not None and gone.outcome.value == "faded"


def test_instrument_tick_and_klines_and_forget() -> None:
    engine = MarketEngine(CONFIG)
    engine.seed_klines("TESTUSDT", [Kline(0, 90.0, 120.0, 80.0, 100.0, 1.0)])
    engine.set_instrument(Instrument("TESTUSDT", 0.5, 0.001, 0.001, 5.0, 100.0))
    engine.on_frame(SNAPSHOT)
    assert engine.tracker("TESTUSDT").tick == 0.5  # type: ignore[union-attr]
    assert engine.tape("TESTUSDT").local_range(4.0, 1_000) == (80.0, 120.0)  # type: ignore[union-attr]
    engine.on_frame(book("delta", 101, [["99.4", "2"]], [], 1_100))
    engine.on_frame(book("delta", 103, [["99.4", "2"]], [], 1_200))
    engine.forget("TESTUSDT")
    assert engine.symbols == []
    assert engine.resync_requests == []
    assert engine.book("TESTUSDT") is None


def test_control_and_other_frames_are_counted_not_malformed() -> None:
    engine = MarketEngine(CONFIG)
    engine.on_frame(b'{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}')
    engine.on_frame(b'{"topic":"kline.1.TESTUSDT","type":"snapshot","ts":1,"data":[]}')
    assert engine.stats.messages["control"] == 1
    assert engine.stats.messages["other"] == 1
    assert engine.stats.total_malformed == 0
