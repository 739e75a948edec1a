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
    decode_frame,
    decode_instruments,
    decode_klines,
    decode_rest_orderbook,
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
    assert snapshot.bids.levels == [["16493.50", "0.006"], ["16493.00", "0.100"]]
    assert snapshot.bids.prices == [16493.5, 16493.0]
    assert snapshot.asks.sizes == [0.029, 0.213]
    delta = decode_frame(example(docs_examples, "ws_public_orderbook50_delta.json"))
    assert isinstance(delta, BookMessage)
    assert not delta.is_snapshot
    assert delta.bids.sizes[-1] == 0.0
    assert len(delta.asks.levels) == 7


def test_public_trade(docs_examples: Path) -> None:
    message = decode_frame(example(docs_examples, "ws_public_trade.json"))
    assert isinstance(message, TradeMessage)
    assert message.prints == [(1672304486865, 16578.5, 0.001, True)]
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
        (_with(BOOK, ("type",), "partial"), KIND_BOOK, "neither snapshot nor delta"),
        (_with(BOOK, ("data", "u"), KeyError), KIND_BOOK, "missing field 'u'"),
        (_with(BOOK, ("data", "u"), "2"), KIND_BOOK, "integers"),
        (_with(BOOK, ("data", "b"), [["1", "-2"]]), KIND_BOOK, "non-negative"),
        (_with(BOOK, ("data", "b"), [["1"]]), KIND_BOOK, "ValueError"),
        (_with(BOOK, ("data", "a"), "none"), KIND_BOOK, "must be lists"),
        (_with(TRADE, ("data",), []), KIND_TRADE, "non-empty list"),
        (_with(TRADE, ("data", 0, "S"), "Hold"), KIND_TRADE, "not Buy or Sell"),
        (_with(TRADE, ("data", 0, "p"), "two"), KIND_TRADE, "ValueError"),
        (_with(TRADE, ("data", 0, "T"), KeyError), KIND_TRADE, "missing field 'T'"),
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


def test_rest_orderbook_is_a_snapshot(docs_examples: Path) -> None:
    message = decode_rest_orderbook(example(docs_examples, "rest_market_orderbook_response.json"))
    assert message.is_snapshot
    assert (message.symbol, message.u, message.cts) == ("BTCUSDT", 230704, 1716863718905)
    assert message.asks.levels == [["65557.7", "16.606555"]]


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
