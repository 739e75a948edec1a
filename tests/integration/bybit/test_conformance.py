"""Both sides against Bybit's own examples (../shared/bybit/docs-examples).

Each docs example we consume parses into our models; the fake's answers have the docs' field
names and parse the same way; pybit's signing matches the docs' rule and passes the fake's check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from fake_bybit import FakeBybit
from fake_bybit.http import HttpRequest
from fake_bybit.server import RestError
from pybit.unified_trading import HTTP
from venue_helpers import DOCS_EXAMPLES, KEY, SECRET, example, rest_client
from websockets.asyncio.client import connect

from densitytui.market.decode import (
    BookMessage,
    ControlMessage,
    TickerMessage,
    TradeMessage,
    decode_frame,
    decode_instruments,
    decode_klines,
    decode_tickers,
)
from densitytui.model import MarginMode, OrderStatus, Side
from densitytui.venues.base import AuthenticationFailed
from densitytui.venues.bybit.payloads import (
    decode_balance,
    decode_execution,
    decode_margin_mode,
    decode_order,
    decode_position,
)
from densitytui.venues.bybit.private import auth_signature

# ---- docs examples → our models


def test_instruments_example_parses_with_tick_step_and_limits() -> None:
    answer = example("rest_market_instruments_info_linear_response.json")
    item = answer["result"]["list"][0]
    [instrument], cursor = decode_instruments(answer)
    assert cursor == ""
    assert instrument.symbol == item["symbol"]
    assert instrument.tick_size == float(item["priceFilter"]["tickSize"])
    assert instrument.qty_step == float(item["lotSizeFilter"]["qtyStep"])
    assert instrument.min_qty == float(item["lotSizeFilter"]["minOrderQty"])
    assert instrument.min_notional == float(item["lotSizeFilter"]["minNotionalValue"])
    assert instrument.max_market_qty == float(item["lotSizeFilter"]["maxMktOrderQty"])
    assert instrument.tradable


def test_tickers_and_kline_examples_parse() -> None:
    tickers = example("rest_market_tickers_inverse_response.json")
    [ticker] = decode_tickers(tickers)
    item = tickers["result"]["list"][0]
    assert ticker.change_24h_pct == pytest.approx(float(item["price24hPcnt"]) * 100)
    assert ticker.turnover_24h == float(item["turnover24h"])
    klines = example("rest_market_kline_response.json")
    parsed = decode_klines(klines)
    starts = sorted(int(row[0]) for row in klines["result"]["list"])
    assert [k.start for k in parsed] == starts


def test_order_examples_parse() -> None:
    rest = example("rest_order_realtime_response.json")["result"]["list"][0]
    order = decode_order(rest)
    assert order.order_link_id == rest["orderLinkId"]
    assert order.status is OrderStatus.NEW
    assert order.stop_loss == float(rest["stopLoss"])
    assert order.price == float(rest["price"])
    stream = example("ws_private_order.json")["data"][0]
    filled = decode_order(stream)
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_qty == float(stream["cumExecQty"])
    assert filled.avg_price == float(stream["avgPrice"])
    assert filled.stop_loss is None


def test_execution_example_parses() -> None:
    item = example("ws_private_execution.json")["data"][0]
    fill = decode_execution(item)
    assert (fill.exec_id, fill.side) == (item["execId"], Side.SELL)
    assert (fill.price, fill.qty, fill.fee) == (
        float(item["execPrice"]), float(item["execQty"]), float(item["execFee"]),
    )
    assert fill.ts == int(item["execTime"])


def test_position_examples_parse_rest_avg_price_and_stream_entry_price() -> None:
    rest = example("rest_position_list_response.json")["result"]["list"][0]
    position = decode_position(rest, "testnet", 0)
    assert position.entry_price == float(rest["avgPrice"])
    assert position.qty == float(rest["size"])
    assert position.stop_loss is None  # "0.00" means none
    stream = example("ws_private_position.json")["data"][0]
    flat = decode_position(stream, "testnet", 0)
    assert flat.qty == 0.0


def test_wallet_example_gives_isolated_available_balance() -> None:
    account = example("rest_account_wallet_balance_response.json")["result"]["list"][0]
    coin = dict(account["coin"][0], coin="USDT", walletBalance="120.5", totalPositionIM="20.25",
                totalOrderIM="1.25", locked="2", bonus="0.5", equity="118.4")
    balance = decode_balance(dict(account, coin=[coin]))
    assert balance.available == pytest.approx(120.5 - 20.25 - 1.25 - 2 - 0.5)
    assert (balance.wallet, balance.equity) == (120.5, 118.4)
    # The example's only coin is BTC: no USDT means nothing to trade with, not an error.
    assert decode_balance(account).available == 0.0


def test_account_info_example_gives_margin_mode() -> None:
    info = example("rest_account_info_response.json")["result"]
    assert decode_margin_mode(info) is MarginMode.REGULAR


def test_public_stream_examples_decode() -> None:
    snapshot = decode_frame(orjson.dumps(example("ws_public_orderbook50_snapshot.json")))
    delta = decode_frame(orjson.dumps(example("ws_public_orderbook50_delta.json")))
    assert isinstance(snapshot, BookMessage) and snapshot.is_snapshot
    assert isinstance(delta, BookMessage) and not delta.is_snapshot
    trade = decode_frame(orjson.dumps(example("ws_public_trade.json")))
    assert isinstance(trade, TradeMessage) and trade.symbol == "BTCUSDT"
    ticker = decode_frame(orjson.dumps(example("ws_public_ticker_linear_perpetual_snapshot.json")))
    assert isinstance(ticker, TickerMessage)
    for name in ("ws_pong_public_linear_inverse.json", "ws_pong_private.json"):
        pong = decode_frame(orjson.dumps(example(name)))
        assert isinstance(pong, ControlMessage) and pong.is_pong, name


# ---- the fake's answers: the docs' field names, and they parse the same way


def _fields(item: Any) -> set[str]:
    return set(item) if isinstance(item, dict) else set()


def _assert_subset(ours: dict[str, Any], docs: dict[str, Any], what: str) -> None:
    extra = _fields(ours) - _fields(docs)
    assert not extra, f"the fake's {what} has fields Bybit's docs do not show: {sorted(extra)}"


async def test_fake_rest_answers_use_the_docs_field_names(fake: FakeBybit) -> None:
    rest = rest_client(fake)
    try:
        instruments = await rest.call("get_instruments_info", category="linear")
        docs = example("rest_market_instruments_info_linear_response.json")
        for item in instruments["result"]["list"]:
            _assert_subset(item, docs["result"]["list"][0], "instrument")
            for part in ("priceFilter", "lotSizeFilter", "leverageFilter"):
                _assert_subset(item[part], docs["result"]["list"][0][part], part)
        assert decode_instruments(instruments)[0]
        tickers = await rest.call("get_tickers", category="linear")
        docs_ticker = example("ws_public_ticker_linear_perpetual_snapshot.json")["data"]
        for item in tickers["result"]["list"]:
            _assert_subset(item, docs_ticker, "ticker")
        assert {t.symbol for t in decode_tickers(tickers)} == {"BTCUSDT", "ETHUSDT"}
        wallet = await rest.call("get_wallet_balance", accountType="UNIFIED")
        docs_wallet = example("rest_account_wallet_balance_response.json")["result"]["list"][0]
        _assert_subset(wallet["result"]["list"][0], docs_wallet, "wallet")
        _assert_subset(wallet["result"]["list"][0]["coin"][0], docs_wallet["coin"][0], "coin")
        assert decode_balance(wallet["result"]["list"][0]).wallet == 1000.0
        info = await rest.call("get_account_info")
        _assert_subset(info["result"], example("rest_account_info_response.json")["result"],
                       "account info")
        for answer in (instruments, tickers, wallet, info):
            _assert_subset(answer, example("rest_common_response_envelope.json"), "envelope")
    finally:
        await rest.close()


def test_fake_account_payloads_use_the_docs_field_names() -> None:
    from fake_bybit import payloads

    from densitytui.model import Fill, Order, OrderType, Position

    order = Order("link-1", "BTCUSDT", Side.BUY, 0.01, OrderType.MARKET, OrderStatus.FILLED, 1,
                  order_id="o-1", stop_loss=90000.0, filled_qty=0.01, avg_price=95000.0, fee=0.5)
    ours = payloads.order(order)
    docs_rest = example("rest_order_realtime_response.json")["result"]["list"][0]
    docs_stream = example("ws_private_order.json")["data"][0]
    _assert_subset(ours, {**docs_rest, **docs_stream}, "order")
    assert decode_order(ours).stop_loss == 90000.0
    fill = Fill("e-1", "link-1", "BTCUSDT", Side.BUY, 95000.0, 0.01, 0.5, 2)
    _assert_subset(payloads.execution(fill, "o-1"), example("ws_private_execution.json")["data"][0],
                   "execution")
    position = Position("BTCUSDT", Side.BUY, 0.01, 95000.0, 1, "fake", stop_loss=90000.0)
    rest_position = payloads.position(position, rest=True, seq=1)
    stream_position = payloads.position(position, rest=False, seq=1)
    _assert_subset(rest_position, example("rest_position_list_response.json")["result"]["list"][0]
                   | {"category": ""}, "REST position")
    _assert_subset(stream_position, example("ws_private_position.json")["data"][0],
                   "stream position")
    assert decode_position(rest_position, "x", 0).entry_price == 95000.0
    assert decode_position(stream_position, "x", 0).entry_price == 95000.0


# ---- signatures


def _docs_signing(name: str) -> tuple[str, str, int, str, str]:
    """(api_key, recv_window, timestamp, payload, the string to sign) from a signature example."""
    text = example(name)
    values = dict(re.findall(r"^(\w+) = \"?(.*?)\"?$", text, re.M))
    presign = re.search(r"signed:\n\"?(.*?)\"?\n", text)
    assert presign is not None, name
    payload = values.get("queryString") or values["jsonBodyString"]
    return values["api_key"], values["recv_window"], int(values["timestamp"]), payload, presign[1]


@pytest.mark.parametrize("name", ["rest_signature_example_get.txt", "rest_signature_example_post.txt"])
def test_pybit_signs_the_docs_string_and_the_fake_accepts_it(name: str) -> None:
    api_key, window, timestamp, payload, presign = _docs_signing(name)
    secret = "conformance-secret"
    session = HTTP(api_key=api_key, api_secret=secret)
    signature = session._auth(payload=payload, recv_window=int(window), timestamp=timestamp)
    assert signature == hmac.new(secret.encode(), presign.encode(), hashlib.sha256).hexdigest()
    fake = FakeBybit(api_key=api_key, api_secret=secret, clock=lambda: timestamp / 1000)
    headers = {"x-bapi-api-key": api_key, "x-bapi-timestamp": str(timestamp),
               "x-bapi-recv-window": window, "x-bapi-sign": signature}
    request = HttpRequest("GET", "/v5/order/realtime", payload, headers, b"")
    fake._check_signature(request, payload, timestamp)
    with pytest.raises(RestError) as refused:
        fake._check_signature(request, payload + "x", timestamp)
    assert refused.value.code == 10004


def test_private_auth_signature_follows_the_docs_rule() -> None:
    request = example("ws_auth_request.json")
    expires = request["args"][1]
    expected = hmac.new(b"s", f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    assert auth_signature("s", expires) == expected


async def test_signed_calls_pass_the_fake_and_a_wrong_secret_fails(fake: FakeBybit) -> None:
    good = rest_client(fake)
    bad = rest_client(fake, secret="not-" + SECRET)
    try:
        answer = await good.call("get_positions", category="linear", settleCoin="USDT")
        assert answer["retCode"] == 0
        with pytest.raises(AuthenticationFailed) as refused:
            await bad.call("get_positions", category="linear", settleCoin="USDT")
        assert refused.value.ret_code == 10004
    finally:
        await good.close()
        await bad.close()
    assert fake.api_key == KEY


def test_docs_examples_directory_is_where_the_tests_look() -> None:
    assert isinstance(DOCS_EXAMPLES, Path)
    example("MANIFEST.json")


async def test_fake_sends_the_rate_limit_headers_of_the_docs(fake: FakeBybit) -> None:
    docs = example("rest_rate_limit_headers_example.http.txt")
    names = [line.split(":")[0] for line in docs.splitlines() if line.startswith("X-Bapi-")]
    session = HTTP(api_key=KEY, api_secret=SECRET, return_response_headers=True)
    session.endpoint = fake.rest_url
    _, _, headers = await asyncio.to_thread(
        session.place_order, category="linear", symbol="BTCUSDT", side="Buy",
        orderType="Market", qty="0.001", orderLinkId="hdr-1",
    )
    session.client.close()
    assert names == ["X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp"]
    assert headers["X-Bapi-Limit"] == "10"  # order/create: 10 a second
    assert int(headers["X-Bapi-Limit-Status"]) == 9
    assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > fake.now_ms() - 1000


async def test_fake_acks_and_pongs_have_the_docs_fields(fake: FakeBybit) -> None:
    async with connect(fake.public_ws_url, proxy=None) as public:
        await public.send('{"op":"subscribe","req_id":"r1","args":["publicTrade.BTCUSDT"]}')
        ack = orjson.loads(await public.recv())
        await public.send('{"op":"ping","req_id":"p1"}')
        pong = orjson.loads(await public.recv())
    docs_ack = example("ws_subscribe_response_public_linear_inverse.json")
    assert set(ack) == set(docs_ack) and ack["success"] is True
    assert set(pong) == set(example("ws_pong_public_linear_inverse.json"))
    assert (pong["op"], pong["ret_msg"], pong["req_id"]) == ("ping", "pong", "p1")
    async with connect(fake.private_ws_url, proxy=None) as private:
        expires = fake.now_ms() + 10_000
        await private.send(orjson.dumps(
            {"op": "auth", "args": [KEY, expires, auth_signature(SECRET, expires)]}).decode())
        login = orjson.loads(await private.recv())
        await private.send('{"op":"subscribe","args":["order"]}')
        subscribed = orjson.loads(await private.recv())
        await private.send('{"op":"ping","req_id":"test"}')
        private_pong = orjson.loads(await private.recv())
    assert set(example("ws_auth_response_success.json")) <= set(login) and login["success"]
    assert set(example("ws_subscribe_response_private.json")) <= set(subscribed)
    assert set(private_pong) == set(example("ws_pong_private.json"))
    assert private_pong["op"] == "pong" and private_pong["req_id"] == "test"
