"""`BybitExchange` against the fake: orders, stops, account state, REST faults, private stream."""

from __future__ import annotations

import asyncio
import random

import pytest
import requests
from fake_bybit import FakeBybit, payloads
from venue_helpers import KEY, SECRET, eventually, rest_client

from densitytui.credentials import Credentials
from densitytui.market.book import OrderBook
from densitytui.model import (
    Fill,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from densitytui.venues.base import (
    AuthenticationFailed,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueUnavailable,
)
from densitytui.venues.bybit import BybitExchange, PrivateStream, RestClient


def _mid(fake: FakeBybit, symbol: str = "BTCUSDT") -> float:
    book: OrderBook = fake.books[symbol]
    mid = book.mid()
    assert mid is not None
    return mid


def _long(link_id: str, fake: FakeBybit, stop_pct: float | None = 1.0) -> OrderRequest:
    mid = _mid(fake)
    stop = round(mid * (1 - stop_pct / 100), 1) if stop_pct is not None else None
    return OrderRequest(link_id, "BTCUSDT", Side.BUY, 0.01, stop_loss=stop)


async def test_entry_with_stop_loss_then_move_and_close(fake: FakeBybit,
                                                        exchange: BybitExchange) -> None:
    order = await exchange.place_order(_long("it-entry-1", fake))
    assert (order.status, order.order_link_id) == (OrderStatus.NEW, "it-entry-1")
    assert fake.orders_received[0]["stopLoss"] == str(order.stop_loss)
    assert fake.orders_received[0]["tpslMode"] == "Full"
    [position] = await exchange.positions()
    assert (position.symbol, position.side, position.qty) == ("BTCUSDT", Side.BUY, 0.01)
    assert position.stop_loss == order.stop_loss
    moved = round(_mid(fake) * 0.995, 1)
    await exchange.set_stop_loss("BTCUSDT", moved)
    await exchange.set_stop_loss("BTCUSDT", moved)  # 34040 "not modified" is success
    [position] = await exchange.positions()
    assert position.stop_loss == moved
    [stop] = await exchange.open_orders()
    assert stop.status is OrderStatus.UNTRIGGERED and stop.stop_loss == moved
    await exchange.place_order(OrderRequest("it-close-1", "BTCUSDT", Side.SELL, 0.01,
                                            reduce_only=True))
    assert await exchange.positions() == []
    filled = await exchange.order_by_link_id("BTCUSDT", "it-close-1")
    assert filled is not None and filled.status is OrderStatus.FILLED and filled.reduce_only


async def test_rejections_carry_bybit_codes(fake: FakeBybit, exchange: BybitExchange) -> None:
    await exchange.place_order(_long("it-dup", fake))
    with pytest.raises(OrderRejected) as duplicate:
        await exchange.place_order(_long("it-dup", fake))
    assert duplicate.value.ret_code == 110072
    with pytest.raises(OrderRejected) as tiny:
        await exchange.place_order(OrderRequest("it-tiny", "BTCUSDT", Side.BUY, 0.0001))
    assert tiny.value.ret_code == 110017
    with pytest.raises(OrderRejected) as no_position:
        await exchange.set_stop_loss("ETHUSDT", 1000.0)
    assert no_position.value.ret_code == 10001


async def test_account_state_balance_leverage_margin_mode(fake: FakeBybit,
                                                          exchange: BybitExchange) -> None:
    balance = await exchange.balance()
    assert (balance.wallet, balance.available, balance.equity) == (1000.0, 1000.0, 1000.0)
    await exchange.set_leverage("BTCUSDT", 10)
    await exchange.set_leverage("BTCUSDT", 10)  # 110043 "not modified" is success
    assert fake.leverage == {"BTCUSDT": 10.0}
    assert await exchange.margin_mode() is MarginMode.ISOLATED
    fake.margin_mode = MarginMode.REGULAR
    assert await exchange.margin_mode() is MarginMode.REGULAR
    await exchange.set_margin_mode(MarginMode.ISOLATED)
    assert fake.margin_mode is MarginMode.ISOLATED
    await exchange.place_order(_long("it-bal", fake))
    after = await exchange.balance()
    assert after.available < after.wallet < 1000.0  # margin locked, fee paid


async def test_cancel_all_returns_the_cancelled_stop(fake: FakeBybit,
                                                     exchange: BybitExchange) -> None:
    await exchange.place_order(_long("it-cancel", fake))
    assert len(await exchange.open_orders()) == 1
    assert await exchange.cancel_all() == ["fake-sl-BTCUSDT"]
    assert await exchange.open_orders() == []
    [position] = await exchange.positions()
    assert position.stop_loss is None


async def test_lost_answer_is_outcome_unknown_and_found_once_by_link_id(
    fake: FakeBybit, exchange: BybitExchange,
) -> None:
    fake.faults.lose_order_responses = 1
    with pytest.raises(OutcomeUnknown):
        await exchange.place_order(_long("it-lost", fake))
    found = await exchange.order_by_link_id("BTCUSDT", "it-lost")
    assert found is not None and found.status is OrderStatus.FILLED
    sent = [o for o in fake.orders_received if o["orderLinkId"] == "it-lost"]
    assert len(sent) == 1  # asked about, never sent again
    assert await exchange.order_by_link_id("BTCUSDT", "it-never-sent") is None


async def test_no_answer_within_the_timeout_is_outcome_unknown(fake: FakeBybit) -> None:
    rest = rest_client(fake, timeout_s=0.5)
    exchange = BybitExchange("testnet", rest, PrivateStream(
        fake.private_ws_url, Credentials(KEY, SECRET), venue="testnet"))
    try:
        fake.faults.hang_order_responses = 1
        with pytest.raises(OutcomeUnknown, match=r"no answer within 0\.5 s"):
            await exchange.place_order(_long("it-hang", fake))
        found = await exchange.order_by_link_id("BTCUSDT", "it-hang")
        assert found is not None and found.order_link_id == "it-hang"
        assert [o["orderLinkId"] for o in fake.orders_received] == ["it-hang"]
    finally:
        await exchange.close()


async def test_rate_limited_calls_wait_for_the_reset_then_succeed(fake: FakeBybit) -> None:
    rest = rest_client(fake)
    try:
        fake.faults.rate_limited_until_ms = fake.now_ms() + 300
        answer = await rest.call("get_positions", category="linear", settleCoin="USDT")
        assert answer["retCode"] == 0
        assert rest.limiter.limited >= 1
        assert fake.now_ms() >= fake.faults.rate_limited_until_ms
        limited = [p for _, p in fake.requests if p == "/v5/position/list"]
        # Waited for the reset in the headers rather than hammering: a handful of tries at most.
        assert 2 <= len(limited) <= 3
    finally:
        await rest.close()


async def test_rate_limit_longer_than_the_allowed_wait_raises(fake: FakeBybit) -> None:
    rest = rest_client(fake, rate_limit_max_wait_s=0.2)
    try:
        fake.faults.rate_limited_until_ms = fake.now_ms() + 60_000
        with pytest.raises(RateLimited) as limited:
            await rest.call("get_positions", category="linear", settleCoin="USDT")
        assert limited.value.ret_code == 10006
        # While the block lasts, further calls are refused without being sent.
        with pytest.raises(RateLimited):
            await rest.call("get_positions", category="linear", settleCoin="USDT")
        assert len([p for _, p in fake.requests if p == "/v5/position/list"]) == 1
    finally:
        await rest.close()


async def test_http_403_stops_rest_for_the_ban(fake: FakeBybit, exchange: BybitExchange) -> None:
    fake.faults.forbidden_until_ms = fake.now_ms() + 60_000
    with pytest.raises(RateLimited) as banned:
        await exchange.positions()
    assert "403" in str(banned.value)
    assert exchange.problem is not None and "REST stopped until" in exchange.problem
    sent = len(fake.requests)
    fake.faults.forbidden_until_ms = 0
    with pytest.raises(RateLimited):
        await exchange.balance()
    assert len(fake.requests) == sent  # nothing more was sent during the ban


async def test_a_refused_key_gives_one_message_and_no_more_requests(fake: FakeBybit) -> None:
    rest = rest_client(fake, secret="wrong")
    private = PrivateStream(fake.private_ws_url, Credentials(KEY, "wrong"), venue="testnet",
                            reconnect_min_s=0.01, rng=random.Random(1))
    exchange = BybitExchange("testnet", rest, private)
    try:
        with pytest.raises(AuthenticationFailed) as refused:
            await exchange.balance()
        assert "BYBIT_API_KEY" in str(refused.value)
        sent = len(fake.requests)
        for _ in range(3):
            with pytest.raises(AuthenticationFailed):
                await exchange.positions()
        assert len(fake.requests) == sent
        updates = [u async for u in exchange.updates()]  # ends: the stream gave up
        assert updates == [] and private.connections == 1
        assert private.auth_failure is not None and "Not retrying" in private.auth_failure
        assert exchange.problem is not None
    finally:
        await exchange.close()


async def test_unreachable_venue_is_unavailable() -> None:
    rest = RestClient("http://127.0.0.1:9", Credentials(KEY, SECRET), threads=1)
    try:
        with pytest.raises(VenueUnavailable):
            await rest.call("place_order", places_order=True, category="linear",
                            symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01")
    finally:
        await rest.close()


async def test_stop_loss_rejected_leaves_the_position_unprotected(
    fake: FakeBybit, exchange: BybitExchange,
) -> None:
    fake.faults.reject_stop_loss = True
    await exchange.place_order(_long("it-nosl", fake))
    [position] = await exchange.positions()
    assert not position.protected
    with pytest.raises(OrderRejected) as refused:
        await exchange.set_stop_loss("BTCUSDT", round(_mid(fake) * 0.99, 1))
    assert refused.value.ret_code == 10001
    # What the engine does next: close at market, reduce-only.
    await exchange.place_order(OrderRequest("it-nosl-close", "BTCUSDT", Side.SELL, 0.01,
                                            reduce_only=True))
    assert await exchange.positions() == []


async def test_private_stream_reports_fill_order_and_position(fake: FakeBybit,
                                                              exchange: BybitExchange) -> None:
    exchange.private.start()
    await eventually(exchange.private.subscribed.is_set, "the private subscription")
    await exchange.place_order(_long("it-stream", fake))
    updates = exchange.updates()
    got: list[object] = []
    while not any(isinstance(u, Position) and u.protected for u in got):
        got.append(await asyncio.wait_for(anext(updates), 10))
    fills = [u for u in got if isinstance(u, Fill)]
    orders = [u for u in got if isinstance(u, Order)]
    assert fills and all(f.order_link_id == "it-stream" for f in fills)
    assert orders[-1].status is OrderStatus.FILLED
    await eventually(lambda: exchange.private.balance is not None, "a wallet message")
    assert exchange.private.balance is not None and exchange.private.balance.wallet < 1000.0


async def test_duplicate_and_out_of_order_private_messages_are_harmless(
    fake: FakeBybit, exchange: BybitExchange,
) -> None:
    exchange.private.start()
    await eventually(exchange.private.subscribed.is_set, "the private subscription")
    fill = Fill("dup-exec", "it-dup", "BTCUSDT", Side.BUY, 95000.0, 0.01, 0.5, 1)
    order = Order("it-dup", "BTCUSDT", Side.BUY, 0.01, OrderType.MARKET, OrderStatus.FILLED, 1,
                  order_id="o-dup", filled_qty=0.01, avg_price=95000.0, updated_at=5)
    older = Order("it-dup", "BTCUSDT", Side.BUY, 0.01, OrderType.MARKET, OrderStatus.NEW, 1,
                  order_id="o-dup", updated_at=4)
    new_pos = Position("BTCUSDT", Side.BUY, 0.01, 95000.0, 1, "fake", stop_loss=94000.0)
    old_pos = Position("BTCUSDT", Side.BUY, 0.01, 95000.0, 1, "fake")
    for topic, item in [
        ("execution", payloads.execution(fill, "o-dup")),
        ("execution", payloads.execution(fill, "o-dup")),
        ("order", payloads.order(order)),
        ("order", payloads.order(order)),  # a second Filled, as a racing cancel gives
        ("order", payloads.order(older)),  # an older state arriving late
        ("position", payloads.position(new_pos, rest=False, seq=20)),
        ("position", payloads.position(old_pos, rest=False, seq=19)),
        ("position", payloads.position(new_pos, rest=False, seq=20)),
    ]:
        await fake.push_private(topic, [item])
    marker = Position("ETHUSDT", Side.SELL, 0.1, 3600.0, 1, "fake")
    await fake.push_private("position", [payloads.position(marker, rest=False, seq=1)])
    updates = exchange.updates()
    got: list[object] = []
    while not (got and isinstance(got[-1], Position) and got[-1].symbol == "ETHUSDT"):
        got.append(await asyncio.wait_for(anext(updates), 10))
    assert [type(u).__name__ for u in got] == ["Fill", "Order", "Position", "Position"]
    assert isinstance(got[2], Position) and got[2].stop_loss == 94000.0
    assert exchange.private.duplicates == 5



async def test_private_stream_reconnects_and_logs_in_again(fake: FakeBybit,
                                                           exchange: BybitExchange) -> None:
    exchange.private.start()
    await eventually(exchange.private.subscribed.is_set, "the private subscription")
    fake.drop_private()
    await eventually(lambda: exchange.private.connections == 2
                     and exchange.private.subscribed.is_set(), "a second login")
    await exchange.place_order(_long("it-after-drop", fake))
    updates = exchange.updates()
    while True:
        update = await asyncio.wait_for(anext(updates), 10)
        if isinstance(update, Fill):
            assert update.order_link_id == "it-after-drop"
            break


async def test_the_fake_bans_an_ip_beyond_600_requests_in_5_seconds() -> None:
    frozen = 1_733_097_601.0  # one 5 s window for every request

    def hammer(url: str) -> list[int]:
        with requests.Session() as session:
            session.trust_env = False
            return [session.get(f"{url}/v5/market/time").status_code for _ in range(601)]

    async with FakeBybit(["BTCUSDT"], clock=lambda: frozen) as fake:
        statuses = await asyncio.to_thread(hammer, fake.rest_url)
        assert statuses[:600] == [200] * 600 and statuses[600] == 403
        assert fake.faults.forbidden_until_ms == int(frozen * 1000) + 600_000
