"""Fuzzed Bybit REST answers: every decoder of an answer returns model values whose numbers are
finite (sizes, prices and times not negative), or raises `DecodeError` naming the answer and the
field; through the real REST client on loopback, every call returns or raises an
`ExchangeError`. Nothing else escapes, and no call loops.

The answers start from Bybit's own examples (../shared/bybit/docs-examples) and are mutated at
any field: a value of the wrong JSON type, NaN, an infinity, a negative or huge number, a field
removed; and whole bodies that are junk, the wrong JSON shape, or an envelope with a retCode of
the wrong type. Hypothesis runs derandomized with bounded examples (DENSITYTUI_FUZZ_EXAMPLES,
100 by default); each refusal is counted under its cause and the tally printed after the run.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any

import pytest
from fake_bybit.http import HttpRequest, HttpResponse, HttpServer
from fuzz_tally import EXAMPLES, Tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_paths import REMOVED, paths, replaced

from densitytui.credentials import Credentials
from densitytui.market.decode import (
    DecodeError,
    decode_instruments,
    decode_klines,
    decode_tickers,
    rest_result,
)
from densitytui.model import OrderRequest, OrderType, Side
from densitytui.venues.base import ExchangeError
from densitytui.venues.bybit import BybitExchange, BybitMarketData, PrivateStream, RestClient
from densitytui.venues.bybit.payloads import (
    decode_balance,
    decode_execution,
    decode_margin_mode,
    decode_order,
    decode_position,
)
from tests.conftest import DOCS_EXAMPLES

FUZZ = settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TALLY = Tally("rest")
# Numbers that may be below zero: PnL, fees (a rebate), a fall in 24 h, an account in debt.
SIGNED = {"unrealized_pnl", "realized_pnl", "fee", "change_24h_pct", "equity", "wallet"}


def _example(name: str) -> Any:
    path = DOCS_EXAMPLES / name
    if not path.exists():
        pytest.fail(f"Bybit docs example {path} is missing: expected ../shared/bybit/docs-examples")
    return json.loads(path.read_text())


def _items(answer: Any) -> list[Any]:
    """The answer's list, for the item decoders (the client's own `_list` check, whose
    ExchangeError the loopback test below meets)."""
    items = rest_result(answer).get("list")
    if not isinstance(items, list):
        raise DecodeError("bybit account", "result.list is not a list")
    return items


def _each(decoder: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    return lambda answer: [decoder(item) for item in _items(answer)]


# target -> (docs example, the decoding the client does with that answer)
TARGETS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "instruments-info": ("rest_market_instruments_info_linear_response.json",
                         lambda a: decode_instruments(a)[0]),
    "tickers": ("rest_market_tickers_inverse_response.json", decode_tickers),
    "kline": ("rest_market_kline_response.json", decode_klines),
    "position/list": ("rest_position_list_response.json",
                      _each(lambda item: decode_position(item, "testnet", 1))),
    "order/realtime": ("rest_order_realtime_response.json", _each(decode_order)),
    "order/history": ("rest_order_history_response.json", _each(decode_order)),
    "execution/list": ("rest_execution_list_response.json", _each(decode_execution)),
    "wallet-balance": ("rest_account_wallet_balance_response.json",
                       lambda a: [decode_balance(item) for item in _items(a)]),
    "account/info": ("rest_account_info_response.json", lambda a: decode_margin_mode(
        rest_result(a))),
}
ANSWERS = {name: _example(file) for name, (file, _) in TARGETS.items()}

wrong_types = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=2),
)
bad_numbers = st.sampled_from([
    "NaN", "nan", "inf", "-inf", "Infinity", "1e999", "-1", "-0.5", "0", "", "1e-400", " 1",
    "1" * 400, "0x10", "1,5", math.nan, math.inf, -1, 10**30,
])




@st.composite
def mutated(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> tuple[str, Any]:
    target = draw(st.sampled_from(sorted(TARGETS)))
    answer = ANSWERS[target]
    path = draw(st.sampled_from(paths(answer)))
    return target, replaced(answer, path, draw(values))


def _numbers(value: Any, name: str = "") -> Iterator[tuple[str, float]]:
    """Every number inside a decoded value (model dataclasses, lists, tuples); an integer (a
    time, a sequence) beyond 64 bits counts as infinite."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        yield name, float(value) if abs(value) < 2**63 else math.inf
    elif isinstance(value, float):
        yield name, value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers(item, name)
    elif is_dataclass(value):
        for field in fields(value):
            yield from _numbers(getattr(value, field.name), field.name)


def _decode(target: str, answer: Any) -> None:
    """Decode as the client does; the outcome is counted, and anything but a sound value or a
    `DecodeError` fails the test."""
    try:
        decoded = TARGETS[target][1](answer)
    except DecodeError as exc:
        assert exc.kind and exc.reason
        TALLY.refused(target, f"{exc.kind}: {exc.reason.split(':')[0]}")
        return
    for name, number in _numbers(decoded):
        assert math.isfinite(number), f"{target}: {name} = {number}"
        assert number >= 0 or name in SIGNED, f"{target}: {name} = {number}"
    TALLY.accepted(target)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_examples_themselves_decode(target: str) -> None:
    TARGETS[target][1](ANSWERS[target])


@FUZZ
@given(mutated(wrong_types))
def test_a_value_of_the_wrong_type_anywhere_is_decoded_or_refused(case: tuple[str, Any]) -> None:
    _decode(*case)


@FUZZ
@given(mutated(bad_numbers))
def test_non_finite_negative_and_huge_numbers_never_reach_a_value(case: tuple[str, Any]) -> None:
    _decode(*case)


@FUZZ
@given(mutated(st.just(REMOVED)))
def test_a_missing_field_is_decoded_with_its_default_or_refused(case: tuple[str, Any]) -> None:
    _decode(*case)


@pytest.mark.parametrize(("target", "path", "value"), [
    # a negative size was read as flat: "missing reports do not mean flat"
    ("position/list", ("result", "list", 0, "size"), "-1"),
    ("position/list", ("result", "list", 0, "avgPrice"), "NaN"),
    ("position/list", ("result", "list", 0, "stopLoss"), "inf"),
    ("order/realtime", ("result", "list", 0, "qty"), "nan"),
    ("execution/list", ("result", "list", 0, "execPrice"), "-inf"),
    ("wallet-balance", ("result", "list", 0, "coin"), "USDT"),
    ("instruments-info", ("result", "list", 0, "priceFilter", "tickSize"), "0"),
    ("tickers", ("result", "list", 0, "lastPrice"), "nan"),
    ("tickers", ("time",), "soon"),
    ("kline", ("result", "list", 0, 2), "inf"),
    ("order/realtime", ("result", "list", 0), "not an order"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_each_case_the_fuzzing_found_is_refused(target: str, path: tuple[Any, ...],
                                                value: Any) -> None:
    with pytest.raises(DecodeError):
        TARGETS[target][1](replaced(ANSWERS[target], path, value))


# ---- the whole client on loopback: pybit's parsing, the envelope, our typed errors


class _Loopback:
    """One HTTP server answering every request with `body`, and our Bybit REST parts pointed at
    it, on an event loop of their own (hypothesis drives the test synchronously)."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = HttpServer(self._answer)
        self.run(self.server.start())
        url = f"http://127.0.0.1:{self.server.port}"
        credentials = Credentials("fuzz-key", "fuzz-secret")
        self.exchange = BybitExchange(
            "testnet", RestClient(url, credentials, threads=1, timeout_s=5.0, rate_limit_max_wait_s=0.2),
            PrivateStream("ws://127.0.0.1:9/v5/private", credentials, venue="testnet"),
        )
        self.market = BybitMarketData(RestClient(url, None, threads=1, timeout_s=5.0, rate_limit_max_wait_s=0.2),
                                      "ws://127.0.0.1:9/v5/public/linear")

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, self.body)

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def close(self) -> None:
        self.run(self.exchange.rest.close())
        self.run(self.market.rest.close())
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture(scope="module")
def loopback() -> Iterator[_Loopback]:
    server = _Loopback()
    yield server
    server.close()


def _calls(loopback: _Loopback) -> dict[str, Callable[[], Any]]:
    exchange, market = loopback.exchange, loopback.market
    order = OrderRequest(order_link_id="fz-1", symbol="BTCUSDT", side=Side.BUY, qty=0.001,
                         order_type=OrderType.MARKET, stop_loss=60000.0)
    return {
        "positions": exchange.positions, "open_orders": exchange.open_orders,
        "balance": exchange.balance, "margin_mode": exchange.margin_mode,
        "cancel_all": exchange.cancel_all,
        "order_by_link_id": lambda: exchange.order_by_link_id("BTCUSDT", "fz-1"),
        "place_order": lambda: exchange.place_order(order),
        "instruments": market.instruments, "tickers": market.tickers,
        "klines": lambda: market.klines("BTCUSDT", 60, 10),
    }


envelopes = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"[]", b"null", b"1", b'"OK"', b"{", b'{"retCode":', b"<html>502</html>"]),
    st.builds(
        lambda code, msg, result: json.dumps(
            {"retCode": code, "retMsg": msg, "result": result, "time": 1}).encode(),
        st.one_of(st.just(0), wrong_types, st.sampled_from([10001, 10016, 110007, 10006])),
        st.one_of(st.just("OK"), wrong_types),
        st.one_of(wrong_types, st.fixed_dictionaries({"list": wrong_types}),
                  st.fixed_dictionaries({"list": st.lists(wrong_types, max_size=2),
                                         "nextPageCursor": st.sampled_from(["", "again"])})),
    ),
)


CALLS = ["positions", "open_orders", "balance", "margin_mode", "cancel_all", "order_by_link_id",
         "place_order", "instruments", "tickers", "klines"]


@settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
@given(body=envelopes, call=st.sampled_from(CALLS))
def test_the_client_returns_or_raises_an_exchange_error(
    loopback: _Loopback, body: bytes, call: str,
) -> None:
    loopback.body = body
    try:
        loopback.run(asyncio.wait_for(_calls(loopback)[call](), 20))
    except ExchangeError as exc:
        TALLY.refused(f"client {call}", f"{type(exc).__name__}: {str(exc).split(':')[0]}")
        return
    TALLY.accepted(f"client {call}")
