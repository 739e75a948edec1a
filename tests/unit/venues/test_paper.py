"""The paper broker: Bybit-like fills, fees, margin, stops and rejections against real books."""

from __future__ import annotations

import pytest
from paper_desk import FEE, Desk

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
from densitytui.venues.base import ExchangeError, OrderRejected, VenueUnavailable


async def test_a_market_buy_walks_the_asks_level_by_level() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 1.0), (100.5, 2.0), (101.0, 5.0)])
    order = await desk.order(Side.BUY, 2.5)
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == 2.5
    assert order.avg_price == pytest.approx((100.0 * 1 + 100.5 * 1.5) / 2.5)
    assert order.fee == pytest.approx((100.0 + 150.75) * FEE)
    updates = desk.drain()
    fills = [u for u in updates if isinstance(u, Fill)]
    assert [(f.price, f.qty) for f in fills] == [(100.0, 1.0), (100.5, 1.5)]
    assert isinstance(updates[-1], Position) and updates[-1].qty == 2.5
    assert [type(u) for u in updates] == [Fill, Fill, Order, Position]


async def test_a_market_sell_never_takes_more_than_the_book_shows() -> None:
    desk = Desk()
    desk.show([(99.0, 0.5), (98.0, 0.7)], [(100.0, 1)])
    order = await desk.order(Side.SELL, 3.0)
    assert order.status is OrderStatus.PARTIALLY_FILLED_CANCELED
    assert order.qty == 3.0
    assert order.filled_qty == pytest.approx(1.2)
    positions = await desk.broker.positions()
    assert positions[0].side is Side.SELL and positions[0].qty == pytest.approx(1.2)


async def test_fees_margin_and_balance() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 2.0)
    balance = await desk.broker.balance()
    assert balance.wallet == pytest.approx(1_000 - 200 * FEE)
    assert balance.position_margin == pytest.approx(20.0)
    assert balance.available == pytest.approx(balance.wallet - 20.0 - 200 * FEE)
    assert balance.unrealized_pnl == pytest.approx((99.95 - 100.0) * 2)
    assert balance.equity == pytest.approx(balance.wallet + balance.unrealized_pnl)


async def test_long_pnl_on_a_reduce_only_close() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0)
    desk.show([(110.0, 5)], [(110.1, 5)])
    close = await desk.order(Side.SELL, 1.0, reduce=True)
    assert close.reduce_only and close.avg_price == 110.0
    assert await desk.broker.positions() == []
    closed = [u for u in desk.drain() if isinstance(u, Position) and u.closed_at is not None]
    assert closed[0].realized_pnl == pytest.approx(10.0)
    assert closed[0].fees == pytest.approx((100 + 110) * FEE)
    assert closed[0].exit_price == 110.0 and closed[0].qty == 0.0
    balance = await desk.broker.balance()
    assert balance.wallet == pytest.approx(1_000 + 10 - (100 + 110) * FEE)
    assert balance.available == pytest.approx(balance.wallet)


async def test_short_pnl_and_a_partial_close() -> None:
    desk = Desk()
    desk.show([(100.0, 5)], [(100.1, 5)])
    await desk.order(Side.SELL, 2.0)
    desk.show([(89.9, 5)], [(90.0, 5)])
    await desk.order(Side.BUY, 0.5, reduce=True)
    position = (await desk.broker.positions())[0]
    assert position.qty == 1.5 and position.side is Side.SELL
    assert position.realized_pnl == pytest.approx(5.0)
    assert (await desk.broker.balance()).position_margin == pytest.approx(15.0)
    assert position.unrealized_pnl == pytest.approx((100.0 - 89.95) * 1.5)


async def test_reduce_only_is_cut_to_the_position() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0)
    close = await desk.order(Side.SELL, 4.0, reduce=True)
    assert close.qty == 1.0 and close.filled_qty == 1.0
    assert close.status is OrderStatus.FILLED
    assert await desk.broker.positions() == []


async def test_a_stop_in_a_gap_fills_worse_than_the_stop() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0, stop=98.0)
    desk.trade(98.1)
    assert len(await desk.broker.positions()) == 1
    desk.show([(99.5, 3), (95.0, 0.4), (94.0, 2)], [(99.6, 3)])
    desk.drain()
    desk.trade(95.0)
    assert await desk.broker.positions() == []
    updates = desk.drain()
    stop_order = next(u for u in updates if isinstance(u, Order))
    assert stop_order.reduce_only and stop_order.order_link_id == ""
    assert stop_order.avg_price == pytest.approx(95.0 * 0.4 + 94.0 * 0.6)
    closed = next(u for u in updates if isinstance(u, Position))
    assert closed.exit_reason == "stop_loss" and closed.exit_price == 94.0
    assert closed.realized_pnl == pytest.approx(95.0 * 0.4 + 94.0 * 0.6 - 100.0)


async def test_a_stop_triggers_at_its_price_and_a_short_stop_above() -> None:
    desk = Desk()
    desk.show([(100.0, 5)], [(100.1, 5)])
    await desk.order(Side.SELL, 1.0, stop=101.0)
    desk.trade(100.9, Side.BUY)
    assert len(await desk.broker.positions()) == 1
    desk.show([(100.9, 5)], [(101.0, 0.3), (101.2, 5)])
    desk.trade(101.0, Side.BUY)
    assert await desk.broker.positions() == []
    order = next(u for u in desk.drain() if isinstance(u, Order) and u.reduce_only)
    assert order.side is Side.BUY
    assert order.avg_price == pytest.approx(101.0 * 0.3 + 101.2 * 0.7)


async def test_a_stop_the_book_cannot_fill_retries_on_the_next_trade() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0, stop=98.0)
    desk.show([(97.0, 0.25)], [(99.0, 5)])
    desk.trade(97.0)
    position = (await desk.broker.positions())[0]
    assert position.qty == 0.75 and position.stop_loss == 98.0
    desk.show([(96.5, 5)], [(99.0, 5)])
    desk.trade(96.5)
    assert await desk.broker.positions() == []


async def test_liquidation_caps_the_loss_at_the_margin() -> None:
    desk = Desk(balance=100.0, leverage=10.0)
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 9.0)
    assert (await desk.broker.balance()).available == pytest.approx(
        100 - 900 * FEE - 90.0 - 900 * FEE)
    desk.trade(91.0)
    assert len(await desk.broker.positions()) == 1
    desk.show([(40.0, 50)], [(40.5, 50)])
    assert (await desk.broker.balance()).equity >= 0
    desk.trade(40.0)
    assert await desk.broker.positions() == []
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_reason == "liquidation"
    balance = await desk.broker.balance()
    assert balance.wallet == pytest.approx(100 - 900 * FEE - 90.0 - 900 * FEE)
    assert balance.wallet >= 0


REJECTIONS = [
    # symbol, side, qty, stop-loss, link id, retCode, words of the message
    ("TESTUSDT", Side.BUY, 0.0004, None, "", 110017, "truncated to zero"),
    ("TESTUSDT", Side.BUY, 0.002, None, "", 110094, "minimum order value"),
    ("TESTUSDT", Side.BUY, 501.0, None, "", 10001, "maximum limit"),
    ("TESTUSDT", Side.BUY, 120.0, None, "", 110007, "ab not enough"),
    ("TESTUSDT", Side.BUY, 1.0, 100.5, "", 10001, "StopLoss:100.5 set for Buy position should lower"),
    ("TESTUSDT", Side.SELL, 1.0, 99.0, "", 10001, "set for Sell position should higher"),
    ("NOPEUSDT", Side.BUY, 1.0, None, "", 10001, "symbol invalid"),
    ("TESTUSDT", Side.BUY, 1.0, None, "x" * 37, 10001, "orderLinkId"),
    ("TESTUSDT", Side.BUY, 1.0, None, "bad id!", 10001, "orderLinkId"),
    ("COARSEUSDT", Side.BUY, 0.005, None, "", 10001, "minimum limit"),
    ("COARSEUSDT", Side.BUY, 1.0, None, "", None, "EC_NoImmediateQtyToFill"),
]


async def test_every_rejection_mirrors_bybit_and_is_recorded() -> None:
    desk = Desk()
    desk.show([(99.9, 500)], [(100.0, 500)])
    desk.trade(100.0)
    for number, (symbol, side, qty, stop, link, code, text) in enumerate(REJECTIONS):
        request = OrderRequest(link or f"case-{number}", symbol, side, qty, stop_loss=stop)
        with pytest.raises(OrderRejected) as rejected:
            await desk.broker.place_order(request)
        assert rejected.value.ret_code == code, request
        assert text in rejected.value.ret_msg, request
        recorded = await desk.broker.order_by_link_id(symbol, request.order_link_id)
        assert recorded is not None and recorded.status is OrderStatus.REJECTED
        assert recorded.reject_code == code and text in recorded.reject_reason
    assert await desk.broker.positions() == []
    assert (await desk.broker.balance()).wallet == 1_000.0
    await desk.order(Side.BUY, 90.0)
    assert len(await desk.broker.positions()) == 1


async def test_duplicate_link_ids_leave_the_original_alone() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    first = await desk.order(Side.BUY, 1.0, link="same")
    with pytest.raises(OrderRejected) as rejected:
        await desk.order(Side.BUY, 2.0, link="same")
    assert rejected.value.ret_code == 110072
    assert rejected.value.ret_msg == "OrderLinkedID is duplicate"
    kept = await desk.broker.order_by_link_id("TESTUSDT", "same")
    assert kept == first
    assert await desk.broker.order_by_link_id("COARSEUSDT", "same") is None
    assert await desk.broker.order_by_link_id("TESTUSDT", "never") is None


async def test_reduce_only_rules() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    with pytest.raises(OrderRejected) as nothing:
        await desk.order(Side.SELL, 1.0, reduce=True)
    assert nothing.value.ret_code == 110017
    assert "current position is zero" in nothing.value.ret_msg
    await desk.order(Side.BUY, 1.0)
    with pytest.raises(OrderRejected) as same_side:
        await desk.order(Side.BUY, 1.0, reduce=True)
    assert same_side.value.ret_code == 110017
    with pytest.raises(OrderRejected) as with_stop:
        await desk.order(Side.SELL, 1.0, reduce=True, stop=90.0)
    assert with_stop.value.ret_code == 10001
    assert (await desk.broker.positions())[0].qty == 1.0


async def test_limit_orders_and_missing_books_are_refused() -> None:
    desk = Desk()
    limit = OrderRequest("lim", "TESTUSDT", Side.BUY, 1.0, OrderType.LIMIT, price=99.0)
    with pytest.raises(OrderRejected) as refused:
        await desk.broker.place_order(limit)
    assert refused.value.ret_code == 10001
    with pytest.raises(OrderRejected, match="no liquidity") as empty:
        await desk.order(Side.BUY, 1.0)
    assert empty.value.ret_code is None


async def test_stop_loss_set_move_remove_and_checks() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    with pytest.raises(OrderRejected) as flat:
        await desk.broker.set_stop_loss("TESTUSDT", 95.0)
    assert flat.value.ret_code == 10001
    await desk.order(Side.BUY, 1.0)
    desk.trade(100.0)
    with pytest.raises(OrderRejected) as wrong:
        await desk.broker.set_stop_loss("TESTUSDT", 100.5)
    assert wrong.value.ret_code == 10001
    desk.drain()
    await desk.broker.set_stop_loss("TESTUSDT", 97.04)
    assert (await desk.broker.positions())[0].stop_loss == 97.0
    assert len(desk.drain()) == 1
    await desk.broker.set_stop_loss("TESTUSDT", 97.0)
    assert desk.drain() == []
    orders = await desk.broker.open_orders()
    assert [(o.status, o.side, o.stop_loss, o.qty) for o in orders] == [
        (OrderStatus.UNTRIGGERED, Side.SELL, 97.0, 1.0)]
    await desk.broker.set_stop_loss("TESTUSDT", None)
    assert (await desk.broker.positions())[0].stop_loss is None
    assert await desk.broker.open_orders() == []


async def test_cancel_all_cancels_stop_losses_like_bybit() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0, stop=95.0)
    assert await desk.broker.cancel_all() == ["paper-sl-TESTUSDT"]
    assert (await desk.broker.positions())[0].stop_loss is None
    assert await desk.broker.cancel_all() == []


async def test_leverage_and_margin_mode() -> None:
    desk = Desk()
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.broker.set_leverage("TESTUSDT", 25)
    await desk.order(Side.BUY, 5.0)
    assert (await desk.broker.balance()).position_margin == pytest.approx(20.0)
    assert (await desk.broker.positions())[0].leverage == 25
    with pytest.raises(ExchangeError) as too_high:
        await desk.broker.set_leverage("TESTUSDT", 101)
    assert too_high.value.ret_code == 10001
    with pytest.raises(OrderRejected):
        await desk.broker.set_leverage("NOPEUSDT", 5)
    assert await desk.broker.margin_mode() is MarginMode.ISOLATED
    await desk.broker.set_margin_mode(MarginMode.ISOLATED)
    with pytest.raises(ExchangeError, match="isolated"):
        await desk.broker.set_margin_mode(MarginMode.REGULAR)


async def test_updates_stream_ends_on_close_and_a_closed_broker_refuses() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0)
    await desk.broker.close()
    seen = [update async for update in desk.broker.updates()]
    assert [type(u) for u in seen] == [Fill, Order, Position]
    with pytest.raises(VenueUnavailable):
        await desk.order(Side.BUY, 1.0)
