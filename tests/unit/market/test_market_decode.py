"""Decoding Bybit's public frames and REST answers, on Bybit's own documentation examples."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from densitytui.market.decode import (
    KIND_BOOK,
    KIND_CONTROL,
    KIND_INVALID,
    KIND_TICKER,
    KIND_TRADE,
    BookMessage,
    ControlMessage,
    DecodeError,
    OtherMessage,
    TickerMessage,
    TradeMessage,
    TradePrint,
    decode_frame,
    decode_instruments,
    decode_klines,
    decode_tickers,
)
from densitytui.model import Side, Ticker, Trade


def example(docs: Path, name: str) -> bytes:
    return (docs / name).read_bytes()


def test_orderbook_snapshot_and_delta(docs_examples: Path) -> None:
    snapshot = decode_frame(example(docs_examples, "ws_public_orderbook50_snapshot.json"))
    assert isinstance(snapshot, BookMessage)
    assert (snapshot.symbol, snapshot.depth, snapshot.is_snapshot) == ("BTCUSDT", 50, True)
    assert (snapshot.u, snapshot.seq, snapshot.ts, snapshot.cts) == (
        18521288, 7961638724, 1672304484978, 1672304484976,
    )
    assert snapshot.bids == [(16493.5, 0.006), (16493.0, 0.1)]
    assert [size for _, size in snapshot.asks] == [0.029, 0.213]
    # "16493.50", "0.006": how the exchange prints this symbol's numbers, read from a snapshot.
    assert (snapshot.price_decimals, snapshot.size_decimals) == (2, 3)
    delta = decode_frame(example(docs_examples, "ws_public_orderbook50_delta.json"))
    assert isinstance(delta, BookMessage)
    assert not delta.is_snapshot
    assert delta.bids[-1][1] == 0.0
    assert len(delta.asks) == 7
    assert (delta.price_decimals, delta.size_decimals) == (-1, -1)


def test_a_delta_with_u_1_is_a_restart_and_tells_how_numbers_are_printed() -> None:
    frame = {"topic": "orderbook.200.X", "type": "delta", "ts": 1,
             "data": {"s": "X", "b": [["1.5000", "2.00"]], "a": [], "u": 1, "seq": 3}}
    message = decode_frame(orjson.dumps(frame))
    assert isinstance(message, BookMessage)
    assert not message.is_snapshot  # the book treats u == 1 as a snapshot (PROTOCOL.md)
    assert (message.price_decimals, message.size_decimals, message.depth) == (4, 2, 200)


def test_a_frame_in_another_key_order_decodes_the_same() -> None:
    frame = {"topic": "orderbook.50.X", "type": "delta", "ts": 1,
             "data": {"s": "X", "b": [["1.50", "2"]], "a": [], "u": 2, "seq": 3}, "cts": 0}
    reordered = {"cts": 0, **frame}
    first, second = decode_frame(orjson.dumps(frame)), decode_frame(orjson.dumps(reordered))
    assert isinstance(first, BookMessage) and isinstance(second, BookMessage)
    assert (first.bids, first.u, first.cts, first.depth) == (second.bids, second.u, 0, 50)


def read(prints: list[TradePrint]) -> list[tuple[int, float, float, Side]]:
    return [(p.ts, p.price, p.size, p.taker) for p in prints]


def test_public_trade(docs_examples: Path) -> None:
    message = decode_frame(example(docs_examples, "ws_public_trade.json"))
    assert isinstance(message, TradeMessage)
    assert read(message.prints) == [(1672304486865, 16578.5, 0.001, Side.BUY)]
    assert message.prints[0].id == "20f43950-d8dd-5b31-9112-a178eb6023af"
    assert (message.off_book, message.skipped) == ([], 0)
    assert message.trades == [
        Trade("BTCUSDT", 1672304486865, 16578.5, 0.001, Side.BUY,
              "20f43950-d8dd-5b31-9112-a178eb6023af"),
    ]


def test_ticker_snapshot_fraction_becomes_percent(docs_examples: Path) -> None:
    message = decode_frame(
        example(docs_examples, "ws_public_ticker_linear_perpetual_snapshot.json")
    )
    assert isinstance(message, TickerMessage)
    ticker = message.apply_to(None)
    assert ticker.symbol == "BTCUSDT"
    assert ticker.change_24h_pct == pytest.approx(-15.8315)
    assert ticker.turnover_24h == pytest.approx(4936790807.6521)
    assert ticker.last_price == 66666.6
    assert ticker.ts == 1760325052630


def test_ticker_delta_updates_only_what_it_carries() -> None:
    ticker = Ticker("ETHUSDT", 3000.0, 2.5, 1e9, ts=1)
    delta = decode_frame(orjson.dumps({
        "topic": "tickers.ETHUSDT", "type": "delta", "ts": 5,
        "data": {"symbol": "ETHUSDT", "lastPrice": "3010.5", "preOpenPrice": ""},
    }))
    assert isinstance(delta, TickerMessage)
    updated = delta.apply_to(ticker)
    assert (updated.last_price, updated.change_24h_pct, updated.turnover_24h, updated.ts) == (
        3010.5, 2.5, 1e9, 5,
    )


@pytest.mark.parametrize(
    ("name", "op", "pong"),
    [
        ("ws_pong_public_linear_inverse.json", "ping", True),
        ("ws_pong_private.json", "pong", True),
        ("ws_subscribe_response_public_linear_inverse.json", "subscribe", False),
    ],
)
def test_control_messages(docs_examples: Path, name: str, op: str, pong: bool) -> None:
    message = decode_frame(example(docs_examples, name))
    assert isinstance(message, ControlMessage)
    assert (message.op, message.is_pong) == (op, pong)


def test_other_topics_are_recognised_not_malformed() -> None:
    message = decode_frame(b'{"topic":"kline.1.BTCUSDT","type":"snapshot","ts":1,"data":[]}')
    assert isinstance(message, OtherMessage)
    assert message.topic == "kline.1.BTCUSDT"


def test_block_and_rpi_trades_are_kept_apart_from_book_trades(docs_examples: Path) -> None:
    frame = orjson.loads(example(docs_examples, "ws_public_trade.json"))
    trade = frame["data"][0]
    frame["data"] = [
        {**trade, "T": 1, "p": "100.5", "v": "2"},
        {**trade, "T": 2, "p": "101.0", "v": "40", "BT": True},
        {**trade, "T": 3, "p": "100.4", "v": "5", "S": "Sell", "RPI": True},
        {**trade, "T": 4, "p": "100.6", "v": "1", "RPI": False},
    ]
    message = decode_frame(orjson.dumps(frame))
    assert isinstance(message, TradeMessage)
    assert read(message.prints) == [(1, 100.5, 2.0, Side.BUY), (4, 100.6, 1.0, Side.BUY)]
    assert read(message.off_book) == [(2, 101.0, 40.0, Side.BUY), (3, 100.4, 5.0, Side.SELL)]
    assert [t.ts for t in message.trades] == [1, 2, 3, 4]


def test_malformed_trades_are_skipped_and_counted_the_rest_kept() -> None:
    frame = orjson.loads(orjson.dumps(TRADE))
    good = frame["data"][0]
    frame["data"] = [
        {**good, "T": 1, "p": "NaN"},
        {**good, "T": 2},
        {**good, "T": 3, "v": "0"},
        {**good, "T": 4, "p": "-2"},
        {**good, "T": 5, "v": "1e999"},
        {**good, "T": 6, "S": "Sell"},
    ]
    message = decode_frame(orjson.dumps(frame))
    assert isinstance(message, TradeMessage)
    assert [p.ts for p in message.prints] == [2, 6]
    assert message.skipped == 4


BOOK = {"topic": "orderbook.50.X", "type": "delta", "ts": 1,
        "data": {"s": "X", "b": [["1", "2"]], "a": [], "u": 2, "seq": 3}}
TRADE = {"topic": "publicTrade.X", "type": "snapshot", "ts": 1,
         "data": [{"T": 1, "s": "X", "S": "Buy", "v": "1", "p": "2", "i": "a"}]}


def _with(frame: dict, path: tuple[str, ...], value: object) -> bytes:
    copy = orjson.loads(orjson.dumps(frame))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return orjson.dumps(copy)


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        (b"{not json", KIND_INVALID, "not JSON"),
        (b"[1, 2]", KIND_INVALID, "not a JSON object"),
        (b'{"hello": 1}', KIND_INVALID, "neither a topic nor an op"),
        (_with(BOOK, ("type",), "partial"), KIND_BOOK, "`$.type`"),
        (_with(BOOK, ("data", "u"), KeyError), KIND_BOOK, "missing required field `u`"),
        (_with(BOOK, ("data", "u"), "two"), KIND_BOOK, "Expected `int`, got `str` - at `$.data.u`"),
        (_with(BOOK, ("data", "b"), [["1", "-2"]]), KIND_BOOK, ">= 0.0 - at `$.data.b[0][1]`"),
        (_with(BOOK, ("data", "b"), [["0", "2"]]), KIND_BOOK, "> 0.0 - at `$.data.b[0][0]`"),
        (_with(BOOK, ("data", "b"), [["-1", "2"]]), KIND_BOOK, "> 0.0 - at `$.data.b[0][0]`"),
        (_with(BOOK, ("data", "b"), [["NaN", "2"]]), KIND_BOOK, "at `$.data.b[0][0]`"),
        (_with(BOOK, ("data", "a"), [["1", "inf"]]), KIND_BOOK, "at `$.data.a[0][1]`"),
        (_with(BOOK, ("data", "a"), [["1e999", "1"]]), KIND_BOOK, "at `$.data.a[0][0]`"),
        (_with(BOOK, ("data", "b"), [["1"]]), KIND_BOOK, "length 2 - at `$.data.b[0]`"),
        (_with(BOOK, ("data", "a"), "none"), KIND_BOOK, "Expected `array`, got `str`"),
        (_with(BOOK, ("topic",), "orderbook.X"), KIND_BOOK, "orderbook.<depth>.<symbol>"),
        (_with(TRADE, ("data",), []), KIND_TRADE, "length >= 1 - at `$.data`"),
        (_with(TRADE, ("data", 0, "S"), "Hold"), KIND_TRADE, "Invalid enum value 'Hold'"),
        (_with(TRADE, ("data", 0, "p"), "two"), KIND_TRADE, "at `$.data[0].p`"),
        (_with(TRADE, ("data", 0, "p"), "0"), KIND_TRADE, "> 0.0 - at `$.data[0].p`"),
        (_with(TRADE, ("data", 0, "p"), "nan"), KIND_TRADE, "at `$.data[0].p`"),
        (_with(TRADE, ("data", 0, "p"), "inf"), KIND_TRADE, "at `$.data[0].p`"),
        (_with(TRADE, ("data", 0, "v"), "0"), KIND_TRADE, "> 0.0 - at `$.data[0].v`"),
        (_with(TRADE, ("data", 0, "v"), "-1"), KIND_TRADE, "> 0.0 - at `$.data[0].v`"),
        (_with(TRADE, ("data", 0, "T"), KeyError), KIND_TRADE, "missing required field `T`"),
        (_with(TRADE, ("ts",), KeyError), KIND_TRADE, "missing required field `ts`"),
        (_with(TRADE, ("topic",), "publicTrade."), KIND_TRADE, "is not publicTrade.<symbol>"),
        (_with(TRADE, ("topic",), "publicTrade.X.Y"), KIND_TRADE, "is not publicTrade.<symbol>"),
        (b'{"topic":"tickers.X","type":"delta","ts":1,"data":{"lastPrice":"1"}}', KIND_TICKER,
         "missing field 'symbol'"),
        (b'{"op": 5}', KIND_CONTROL, "op must be a string"),
    ],
)
def test_malformed_frames_name_their_kind_and_what_is_wrong(raw: bytes, kind: str,
                                                            reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_frame(raw)
    assert caught.value.kind == kind
    assert reason in str(caught.value)


def test_rest_instruments_with_their_trading_rules(docs_examples: Path) -> None:
    instruments, cursor = decode_instruments(
        example(docs_examples, "rest_market_instruments_info_linear_response.json")
    )
    assert cursor == ""
    (btc,) = instruments
    assert (btc.symbol, btc.tick_size, btc.qty_step, btc.min_qty) == ("BTCUSDT", 0.1, 0.001, 0.001)
    assert (btc.min_notional, btc.max_market_qty, btc.max_leverage) == (5.0, 500.0, 100.0)
    assert btc.tradable
    prelaunch, _ = decode_instruments(
        example(docs_examples, "rest_market_instruments_info_linear_prelaunch_response.json")
    )
    assert prelaunch[0].status == "PreLaunch"
    assert not prelaunch[0].tradable


def test_rest_instruments_page_cursor() -> None:
    answer = {"retCode": 0, "retMsg": "OK", "result": {"list": [], "nextPageCursor": "abc%3D"}}
    assert decode_instruments(answer) == ([], "abc%3D")


def test_rest_tickers(docs_examples: Path) -> None:
    (ticker,) = decode_tickers(example(docs_examples, "rest_market_tickers_inverse_response.json"))
    assert ticker.symbol == "BTCUSD"
    assert ticker.change_24h_pct == pytest.approx(14.2425)
    assert ticker.turnover_24h == pytest.approx(115.6907)
    assert ticker.ts == 1760352369814


def test_rest_klines_come_oldest_first(docs_examples: Path) -> None:
    klines = decode_klines(example(docs_examples, "rest_market_kline_response.json"))
    assert [k.start for k in klines] == [1670601600000, 1670605200000, 1670608800000]
    assert (klines[-1].high, klines[-1].low, klines[-1].close) == (17073.0, 17027.0, 17055.5)


def test_rest_error_codes_are_reported() -> None:
    with pytest.raises(DecodeError, match="retCode 10006: Too many visits"):
        decode_tickers({"retCode": 10006, "retMsg": "Too many visits", "result": {}})
    with pytest.raises(DecodeError, match="instruments-info: missing field 'priceFilter'"):
        decode_instruments({"retCode": 0, "result": {"list": [{"symbol": "X",
                                                               "lotSizeFilter": {}}]}})


def test_rest_answer_that_is_not_json_is_a_decode_error() -> None:
    for decode in (decode_instruments, decode_tickers, decode_klines):
        with pytest.raises(DecodeError, match=r"malformed rest message: not JSON"):
            decode(b"<html>502 Bad Gateway</html>")
