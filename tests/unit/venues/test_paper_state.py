"""The paper account survives a restart: exported as plain data, restored into a new broker."""

from __future__ import annotations

import json

import pytest
from paper_desk import FEE, TEST, Desk

from densitytui.model import Fill, OrderRequest, OrderStatus, Position, Side
from densitytui.venues.base import OrderRejected
from densitytui.venues.paper import PaperBroker, PaperStateError


async def _traded() -> Desk:
    """An account with history: a closed trade, a rejection, a leverage, an open short with a
    stop."""
    desk = Desk()
    desk.show([(99.9, 50)], [(100.0, 50)])
    await desk.order(Side.BUY, 1.0, link="long")
    desk.show([(104.9, 50)], [(105.0, 50)])
    await desk.order(Side.SELL, 1.0, reduce=True, link="long-close")
    with pytest.raises(OrderRejected):
        await desk.order(Side.BUY, 0.0001, link="too-small")
    await desk.broker.set_leverage("TESTUSDT", 20)
    await desk.broker.set_leverage("COARSEUSDT", 3)
    await desk.order(Side.SELL, 2.0, stop=107.03, link="short")
    return desk


def _restarted(desk: Desk, state: dict[str, object]) -> Desk:
    """A new process: a fresh broker on the same books and clock, given the stored state."""
    fresh = Desk()
    fresh.books.update(desk.books)
    fresh.now = desk.now
    fresh.broker.restore_state(json.loads(json.dumps(state, allow_nan=False)))
    return fresh


async def test_the_state_round_trips_exactly_through_json() -> None:
    desk = await _traded()
    state = desk.broker.export_state()
    assert state["version"] == 1
    again = _restarted(desk, state)
    assert again.broker.export_state() == state
    assert await again.broker.positions() == await desk.broker.positions()
    assert await again.broker.balance() == await desk.broker.balance()
    assert await again.broker.open_orders() == await desk.broker.open_orders()
    for link in ("long", "long-close", "too-small", "short"):
        assert await again.broker.order_by_link_id("TESTUSDT", link) == \
            await desk.broker.order_by_link_id("TESTUSDT", link)


async def test_a_restored_account_is_the_same_account() -> None:
    desk = await _traded()
    again = _restarted(desk, desk.broker.export_state())
    position = (await again.broker.positions())[0]
    assert (position.side, position.qty, position.entry_price) == (Side.SELL, 2.0, 104.9)
    assert position.stop_loss == 107.1 and position.leverage == 20
    balance = await again.broker.balance()
    wallet = 1_000 + 4.9 - (100 + 104.9) * FEE - 209.8 * FEE
    assert balance.wallet == pytest.approx(wallet)
    assert balance.position_margin == pytest.approx(209.8 / 20)
    rejected = await again.broker.order_by_link_id("TESTUSDT", "too-small")
    assert rejected is not None and rejected.status is OrderStatus.REJECTED
    assert rejected.reject_code == 110017
    with pytest.raises(OrderRejected) as duplicate:
        await again.order(Side.BUY, 1.0, link="long")
    assert duplicate.value.ret_code == 110072
    again.show([(9.99, 50)], [(10.0, 50)], symbol="COARSEUSDT")
    await again.broker.place_order(OrderRequest("coarse", "COARSEUSDT", Side.BUY, 1.0))
    coarse = next(p for p in await again.broker.positions() if p.symbol == "COARSEUSDT")
    assert coarse.leverage == 3


async def test_a_stop_triggers_after_restore_and_ids_do_not_repeat() -> None:
    desk = await _traded()
    before = [u for u in desk.drain() if isinstance(u, Fill)]
    again = _restarted(desk, desk.broker.export_state())
    again.show([(107.0, 50)], [(107.1, 0.5), (107.4, 50)])
    again.trade(107.0, Side.BUY)
    assert len(await again.broker.positions()) == 1
    again.trade(107.1, Side.BUY)
    assert await again.broker.positions() == []
    updates = again.drain()
    closed = next(u for u in updates if isinstance(u, Position) and u.closed_at is not None)
    assert closed.exit_reason == "stop_loss"
    assert closed.realized_pnl == pytest.approx((104.9 - 107.1) * 0.5 + (104.9 - 107.4) * 1.5)
    after = [u for u in updates if isinstance(u, Fill)]
    assert {f.exec_id for f in after}.isdisjoint(f.exec_id for f in before)
    balance = await again.broker.balance()
    assert balance.wallet == balance.available == balance.equity


async def test_another_version_is_refused_by_name() -> None:
    desk = await _traded()
    state = desk.broker.export_state()
    for version in (2, None, "1"):
        with pytest.raises(PaperStateError, match=f"version {version!r} is not supported"):
            Desk().broker.restore_state({**state, "version": version})


async def test_malformed_state_is_refused_and_leaves_the_account_alone() -> None:
    desk = await _traded()
    state = desk.broker.export_state()
    fresh = Desk()
    bad_side = {**state, "positions": [{**state["positions"][0], "side": "Up"}]}
    with pytest.raises(PaperStateError, match="malformed"):
        fresh.broker.restore_state(bad_side)
    unknown = {**state, "positions": [{**state["positions"][0], "symbol": "NOPEUSDT"}]}
    with pytest.raises(PaperStateError, match="NOPEUSDT"):
        fresh.broker.restore_state(unknown)
    off_step = {**state, "positions": [{**state["positions"][0], "qty": 2.0005}]}
    with pytest.raises(PaperStateError, match="whole steps"):
        fresh.broker.restore_state(off_step)
    missing = {key: value for key, value in state.items() if key != "wallet"}
    with pytest.raises(PaperStateError, match="wallet"):
        fresh.broker.restore_state(missing)
    assert fresh.broker.export_state()["wallet"] == 1_000.0
    assert await fresh.broker.positions() == []


async def test_the_account_remembers_the_last_orders_only() -> None:
    desk = Desk()
    desk.broker = PaperBroker([TEST], desk.books.get, lambda: desk.now, remembered_orders=3)
    desk.show([(99.9, 50)], [(100.0, 50)])
    for number in range(5):
        await desk.order(Side.BUY if number % 2 == 0 else Side.SELL, 0.1, link=f"o{number}")
    assert await desk.broker.order_by_link_id("TESTUSDT", "o1") is None
    kept = await desk.broker.order_by_link_id("TESTUSDT", "o2")
    assert kept is not None and kept.status is OrderStatus.FILLED
    state = desk.broker.export_state()
    assert [order["order_link_id"] for order in state["orders"]] == ["o2", "o3", "o4"]
    smaller = PaperBroker([TEST], desk.books.get, lambda: desk.now, remembered_orders=2)
    smaller.restore_state(state)
    assert [order["order_link_id"] for order in smaller.export_state()["orders"]] == ["o3", "o4"]
    # The forgotten id is free again.
    await desk.order(Side.BUY, 0.1, link="o0")
