"""Defects found in review of the paper broker, each reproduced: money must not go wrong."""

from __future__ import annotations

import json

import pytest
from paper_desk import FEE, TEST, Desk, make_book

from densitytui.market.book import OrderBook
from densitytui.model import Fill, Instrument, Order, OrderStatus, Position, Side
from densitytui.venues.base import OrderRejected
from densitytui.venues.paper import PaperBroker

# ---- stop prices: rounded to the tick away from the price, then checked


async def test_a_short_stop_is_rounded_up_before_it_is_checked() -> None:
    desk = Desk()
    desk.show([(100.0, 5)], [(100.1, 5)])
    await desk.order(Side.SELL, 1.0)
    desk.trade(100.04, Side.BUY)
    await desk.broker.set_stop_loss("TESTUSDT", 100.041)
    assert (await desk.broker.positions())[0].stop_loss == 100.1
    desk.trade(100.04, Side.BUY)
    assert len(await desk.broker.positions()) == 1


async def test_an_attached_long_stop_is_rounded_down_before_it_is_checked() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    desk.trade(99.96)
    await desk.order(Side.BUY, 1.0, stop=99.959)
    assert (await desk.broker.positions())[0].stop_loss == 99.9
    desk.trade(99.96)
    assert len(await desk.broker.positions()) == 1


async def test_a_stop_that_rounds_onto_the_price_is_refused_with_the_rounded_price() -> None:
    desk = Desk()
    desk.show([(100.0, 5)], [(100.1, 5)])
    await desk.order(Side.SELL, 1.0)
    desk.trade(100.0, Side.BUY)
    with pytest.raises(OrderRejected, match=r"StopLoss:100 set for Sell position should higher"):
        await desk.broker.set_stop_loss("TESTUSDT", 99.95)
    assert (await desk.broker.positions())[0].stop_loss is None


async def test_a_stop_on_the_tick_stays_exactly_there() -> None:
    desk = Desk()
    desk.show([(101.0, 5)], [(101.1, 5)])
    await desk.order(Side.BUY, 1.0, stop=100.3)
    # 100.3 / 0.1 is 1002.9999999999999 in floats: a float floor would give 100.2.
    assert (await desk.broker.positions())[0].stop_loss == 100.3
    await desk.broker.set_stop_loss("TESTUSDT", 100.7)
    assert (await desk.broker.positions())[0].stop_loss == 100.7


# ---- fills take liquidity


async def test_a_second_market_order_does_not_take_what_the_first_took() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 1.0), (100.5, 2.0)])
    first = await desk.order(Side.BUY, 0.4)
    second = await desk.order(Side.BUY, 1.0)
    assert first.avg_price == 100.0
    fills = [(u.price, u.qty) for u in desk.drain() if isinstance(u, Fill)]
    assert fills == [(100.0, 0.4), (100.0, 0.6), (100.5, 0.4)]
    assert second.avg_price == pytest.approx((100.0 * 0.6 + 100.5 * 0.4) / 1.0)


async def test_a_consumed_level_comes_back_when_the_book_changes_its_size() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 1.0), (100.5, 2.0)])
    await desk.order(Side.BUY, 1.0)
    desk.delta([], [(100.5, 2.5)])
    assert (await desk.order(Side.BUY, 0.5)).avg_price == 100.5
    desk.delta([], [(100.0, 0.8)])
    assert (await desk.order(Side.BUY, 0.5)).avg_price == 100.0


async def test_a_new_book_object_starts_with_nothing_consumed() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 1.0), (100.5, 2.0)])
    await desk.order(Side.BUY, 1.0)
    desk.show([(99.9, 5)], [(100.0, 1.0), (100.5, 2.0)])
    assert (await desk.order(Side.BUY, 1.0)).avg_price == 100.0


async def test_a_fully_consumed_book_rejects_the_next_order() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 1.0)])
    await desk.order(Side.BUY, 1.0)
    with pytest.raises(OrderRejected, match="EC_NoImmediateQtyToFill"):
        await desk.order(Side.BUY, 1.0)


async def test_closes_and_stops_obey_consumed_levels() -> None:
    desk = Desk()
    desk.show([(99.9, 0.5), (99.0, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0)
    close = await desk.order(Side.SELL, 0.4, reduce=True)
    assert close.avg_price == 99.9
    desk.trade(100.0, Side.BUY)
    await desk.broker.set_stop_loss("TESTUSDT", 99.9)
    desk.drain()
    desk.trade(99.9)
    assert await desk.broker.positions() == []
    stop = next(u for u in desk.drain() if isinstance(u, Order))
    assert stop.avg_price == pytest.approx((99.9 * 0.1 + 99.0 * 0.5) / 0.6)


async def test_each_side_of_the_book_is_consumed_apart() -> None:
    desk = Desk()
    desk.show([(100.0, 1.0), (99.9, 5)], [(100.1, 1.0), (100.2, 5)])
    await desk.order(Side.BUY, 1.0)
    close = await desk.order(Side.SELL, 1.0, reduce=True)
    assert close.avg_price == 100.0


# ---- liquidation: on the mark price, at the bankruptcy price


async def _long_nine_at_100(desk: Desk) -> None:
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 9.0)
    desk.drain()


async def test_a_trade_print_beyond_liquidation_does_not_liquidate_while_the_mark_holds() -> None:
    desk = Desk(balance=100.0)
    await _long_nine_at_100(desk)
    desk.mark(91.0)
    desk.trade(85.0)
    assert len(await desk.broker.positions()) == 1


async def test_the_mark_liquidates_a_long_at_its_bankruptcy_price() -> None:
    desk = Desk(balance=100.0)
    await _long_nine_at_100(desk)
    # Margin 90: liquidation where 0.5 % of 900 is left (90.5), bankruptcy where all is lost (90).
    desk.mark(90.6)
    assert len(await desk.broker.positions()) == 1
    desk.show([(40.0, 50)], [(40.5, 50)])
    desk.mark(90.5)
    assert await desk.broker.positions() == []
    updates = desk.drain()
    fill = next(u for u in updates if isinstance(u, Fill))
    assert (fill.price, fill.qty, fill.side) == (90.0, 9.0, Side.SELL)
    closed = next(u for u in updates if isinstance(u, Position))
    assert closed.exit_reason == "liquidation" and closed.exit_price == 90.0
    assert closed.realized_pnl == pytest.approx(-90.0)
    balance = await desk.broker.balance()
    assert balance.wallet == pytest.approx(100 - 900 * FEE - 90.0 - 900 * FEE)
    assert balance.wallet == balance.equity == balance.available


async def test_the_mark_liquidates_a_short_at_its_bankruptcy_price() -> None:
    desk = Desk(balance=100.0)
    desk.show([(100.0, 50)], [(100.1, 50)])
    await desk.order(Side.SELL, 9.0)
    desk.mark(109.4)
    assert len(await desk.broker.positions()) == 1
    desk.mark(109.5)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_reason == "liquidation" and closed.exit_price == 110.0
    assert (await desk.broker.balance()).wallet == pytest.approx(100 - 2 * 900 * FEE - 90.0)


async def test_a_bankruptcy_price_off_the_tick_goes_away_from_the_entry_and_loses_the_margin() -> None:
    desk = Desk(balance=100.0, leverage=7.0)
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 1.0)
    desk.mark(80.0)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    # 100 - 100/7 = 85.714...: on the tick below, the loss is still exactly the margin.
    assert closed.exit_price == 85.7
    assert closed.realized_pnl == pytest.approx(-100 / 7)
    assert (await desk.broker.balance()).wallet == pytest.approx(100 - 2 * 100 * FEE - 100 / 7)


async def test_without_a_mark_the_book_mid_decides_not_the_trade() -> None:
    desk = Desk(balance=100.0)
    await _long_nine_at_100(desk)
    desk.show([(94.9, 50)], [(95.0, 50)])
    desk.trade(80.0)
    assert len(await desk.broker.positions()) == 1
    desk.show([(90.4, 50)], [(90.5, 50)])
    desk.trade(90.4)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_reason == "liquidation" and closed.exit_price == 90.0


async def test_without_a_mark_the_present_book_decides_not_a_book_read_ahead() -> None:
    # A replay fills against the book `latency_ms` ahead; the stand-in mark is today's mid.
    desk = Desk(balance=100.0)
    present: dict[str, OrderBook] = {}
    desk.broker = PaperBroker(desk.instruments, desk.books.get, lambda: desk.now,
                              starting_balance=100.0, mark_book_for=present.get)
    await _long_nine_at_100(desk)
    present["TESTUSDT"] = make_book("TESTUSDT", [(94.9, 50)], [(95.0, 50)])
    desk.show([(90.4, 50)], [(90.5, 50)])
    desk.trade(94.9)
    assert len(await desk.broker.positions()) == 1
    present["TESTUSDT"] = make_book("TESTUSDT", [(90.4, 50)], [(90.5, 50)])
    desk.trade(90.4)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_reason == "liquidation"


async def test_an_older_mark_is_ignored() -> None:
    desk = Desk(balance=100.0)
    await _long_nine_at_100(desk)
    desk.broker.on_mark("TESTUSDT", 95.0, 5_000)
    desk.broker.on_mark("TESTUSDT", 50.0, 4_000)
    assert len(await desk.broker.positions()) == 1
    assert (await desk.broker.positions())[0].mark_price == 95.0


async def test_equity_is_marked_at_the_mark_price_when_one_is_known() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 2.0)
    desk.mark(101.0)
    balance = await desk.broker.balance()
    assert balance.unrealized_pnl == pytest.approx(2.0)
    assert balance.equity == pytest.approx(balance.wallet + 2.0)


# ---- a stop that triggers when the book cannot fill it


async def test_a_stop_triggered_on_an_invalid_book_fills_at_the_print() -> None:
    # The stop rests on the exchange, whose book is not ours: ours being invalid (a gap) does
    # not hold the close back; the trade through the stop is liquidity the exchange had.
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0, stop=98.0)
    desk.books["TESTUSDT"].invalidate()
    desk.trade(97.0)
    assert await desk.broker.positions() == []
    updates = desk.drain()
    order = next(u for u in updates if isinstance(u, Order) and u.reduce_only)
    assert order.avg_price == 97.0
    closed = next(u for u in updates if isinstance(u, Position) and u.closed_at)
    assert closed.exit_reason == "stop_loss" and closed.exit_price == 97.0


async def test_a_stop_without_any_book_fills_at_the_print() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0, stop=98.0)
    del desk.books["TESTUSDT"]
    desk.trade(97.0)
    assert await desk.broker.positions() == []
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_price == 97.0


async def test_a_stop_on_an_empty_side_fills_at_the_print_but_a_thin_one_walks_it() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    await desk.order(Side.BUY, 1.0, stop=98.0)
    desk.show([], [(96.6, 5)])
    desk.trade(97.0)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_price == 97.0
    # A bid side that holds levels is walked as before (no better than the print).
    await desk.order(Side.BUY, 1.0, stop=95.0)
    desk.show([(95.5, 5), (94.0, 5)], [(96.6, 5)])
    desk.trade(94.5)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_price == 94.0


# ---- leverage changes and open positions


async def test_adding_after_a_leverage_change_costs_and_books_the_positions_leverage() -> None:
    desk = Desk(balance=100.0, leverage=5.0)
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 4.0)
    await desk.broker.set_leverage("TESTUSDT", 50)
    with pytest.raises(OrderRejected) as refused:
        await desk.order(Side.BUY, 4.0)
    assert refused.value.ret_code == 110007
    await desk.order(Side.BUY, 0.5)
    balance = await desk.broker.balance()
    assert balance.position_margin == pytest.approx(450 / 5)
    assert balance.available == pytest.approx(100 - 2 * 450 * FEE - 90.0)
    assert (await desk.broker.positions())[0].leverage == 5.0
    desk.mark(1.0)
    assert (await desk.broker.balance()).wallet == pytest.approx(100 - 2 * 450 * FEE - 90.0)


async def test_a_new_position_after_a_leverage_change_uses_the_new_leverage() -> None:
    desk = Desk(balance=100.0, leverage=5.0)
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 1.0)
    await desk.broker.set_leverage("TESTUSDT", 50)
    await desk.order(Side.SELL, 1.0, reduce=True)
    await desk.order(Side.BUY, 5.0)
    assert (await desk.broker.balance()).position_margin == pytest.approx(10.0)


# ---- quantities: whole steps without float noise


async def test_a_quantity_of_a_hundred_million_steps_is_not_cut_by_one() -> None:
    big = Instrument("BIGUSDT", tick_size=0.0001, qty_step=0.001, min_qty=0.001,
                     min_notional=5.0, max_market_qty=1_000_000.0)
    desk = Desk(balance=1_000_000.0, instruments=[TEST, big])
    desk.show([(0.9999, 200_000)], [(1.0, 99999.953)], symbol="BIGUSDT")
    order = await desk.order(Side.BUY, 99999.953, symbol="BIGUSDT")
    # 99999.953 / 0.001 is 99999952.99999999 in floats.
    assert order.status is OrderStatus.FILLED
    assert order.qty == order.filled_qty == 99999.953
    assert (await desk.broker.positions())[0].qty == 99999.953


async def test_a_mark_too_old_to_use_gives_way_to_the_book_mid() -> None:
    desk = Desk(balance=100.0)
    await _long_nine_at_100(desk)
    desk.mark(95.0)
    desk.show([(90.4, 50)], [(90.5, 50)])
    desk.trade(90.4)
    assert len(await desk.broker.positions()) == 1
    # 30 s without a ticker: the default mark_max_age_ms (the config's stale_data_s).
    desk.now += 30_000
    desk.trade(90.4)
    closed = next(u for u in desk.drain() if isinstance(u, Position) and u.closed_at)
    assert closed.exit_reason == "liquidation" and closed.exit_price == 90.0


async def test_a_mark_that_is_not_a_price_is_ignored() -> None:
    desk = Desk(balance=100.0)
    await _long_nine_at_100(desk)
    desk.mark(95.0)
    for bad in (float("nan"), 0.0, -5.0, float("inf")):
        desk.mark(bad)
    position = (await desk.broker.positions())[0]
    assert position.mark_price == 95.0
    assert (await desk.broker.balance()).equity == pytest.approx(100 - 900 * FEE - 45.0)


# ---- what the store keeps must be strict JSON


async def test_an_order_with_a_qty_or_stop_that_is_not_a_number_is_refused_unrecorded() -> None:
    desk = Desk()
    desk.show([(99.9, 5)], [(100.0, 5)])
    for number, (qty, stop) in enumerate([(float("nan"), None), (float("inf"), None),
                                          (1.0, float("nan"))]):
        with pytest.raises(OrderRejected) as refused:
            await desk.order(Side.BUY, qty, stop=stop, link=f"bad-{number}")
        assert refused.value.ret_code == 10001
        assert await desk.broker.order_by_link_id("TESTUSDT", f"bad-{number}") is None
    json.dumps(desk.broker.export_state(), allow_nan=False)


# ---- fees on both legs of a flip


async def test_a_flip_closes_with_its_fee_and_opens_with_its_own() -> None:
    desk = Desk()
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 1.0)
    desk.show([(110.0, 50)], [(110.1, 50)])
    desk.drain()
    flip = await desk.order(Side.SELL, 3.0)
    assert flip.fee == pytest.approx(330 * FEE)
    updates = desk.drain()
    closed = next(u for u in updates if isinstance(u, Position) and u.closed_at is not None)
    assert closed.side is Side.BUY and closed.realized_pnl == pytest.approx(10.0)
    assert closed.fees == pytest.approx((100 + 110) * FEE)
    short = (await desk.broker.positions())[0]
    assert (short.side, short.qty, short.entry_price) == (Side.SELL, 2.0, 110.0)
    assert short.fees == pytest.approx(220 * FEE) and short.realized_pnl == 0.0
    balance = await desk.broker.balance()
    assert balance.wallet == pytest.approx(1_000 + 10 - (100 + 110 + 220) * FEE)
    assert balance.position_margin == pytest.approx(22.0)
    assert balance.available == pytest.approx(balance.wallet - 22.0 - 220 * FEE)


# ---- funding


async def test_funding_is_charged_at_each_8_h_funding_time_on_open_positions() -> None:
    from densitytui.venues.paper import PaperBroker

    day = 1_723_161_600_000  # 2024-08-09 00:00 UTC
    desk = Desk()
    desk.now = day - 60_000
    desk.broker = PaperBroker(desk.instruments, desk.books.get, lambda: desk.now,
                              funding_rate_pct=0.01)
    desk.show([(99.9, 50)], [(100.0, 50)])
    desk.trade(100.0)
    await desk.order(Side.BUY, 2.0)
    wallet = (await desk.broker.balance()).wallet
    desk.trade(100.0)  # before 00:00: nothing
    assert desk.broker.funding == []
    desk.now = day + 5  # past 00:00: the long pays 2 x 100 (book mid 99.95) x 0.01 %
    desk.trade(100.0)
    [(at, symbol, amount, _, _)] = desk.broker.funding
    assert (at, symbol) == (day, "TESTUSDT")
    assert amount == pytest.approx(2 * 99.95 * 0.0001)
    assert (await desk.broker.balance()).wallet == pytest.approx(wallet - amount)
    # Sixteen hours on: two more funding times, a short earns at a positive rate.
    await desk.order(Side.SELL, 4.0)
    desk.now = day + 16 * 3_600_000 + 1
    desk.trade(100.0)
    assert [p.at for p in desk.broker.funding[1:]] == [day + 8 * 3_600_000, day + 16 * 3_600_000]
    assert all(p.amount < 0 for p in desk.broker.funding[1:])


async def test_funding_at_the_rate_the_tickers_carried() -> None:
    from densitytui.venues.paper import PaperBroker

    day = 1_723_161_600_000  # 2024-08-09 00:00 UTC
    desk = Desk()
    desk.now = day - 60_000
    desk.broker = PaperBroker(desk.instruments, desk.books.get, lambda: desk.now,
                              funding_rate_pct=0.01)
    desk.show([(99.9, 50)], [(100.0, 50)])
    desk.trade(100.0)
    await desk.order(Side.BUY, 2.0)
    desk.broker.on_funding_rate("TESTUSDT", -0.03, desk.now)
    desk.now = day + 5
    # The next period's rate arrives after 00:00 but before any trade settles midnight: the
    # payment of 00:00 is at the rate known before it (-0.03 %: the long earns).
    desk.broker.on_funding_rate("TESTUSDT", 0.05, desk.now)
    [(at, symbol, amount, rate, source)] = desk.broker.funding
    assert (at, symbol, rate, source) == (day, "TESTUSDT", pytest.approx(-0.03), "ticker")
    assert amount == pytest.approx(-2 * 99.95 * 0.0003)
    desk.now = day + 8 * 3_600_000
    desk.trade(100.0)
    assert desk.broker.funding[1][3:] == (pytest.approx(0.05), "ticker")
