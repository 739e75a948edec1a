"""Faults on the order path, through a real paper account behind fault switches."""

from __future__ import annotations

from pathlib import Path

from engine_rig import Rig, engine_rig, make_config
from faulty_exchange import FaultyExchange

from densitytui.model import OrderStatus, TradingMode


def _faulty(rig: Rig) -> FaultyExchange:
    assert isinstance(rig.exchange, FaultyExchange)
    return rig.exchange


async def test_a_refused_stop_loss_closes_the_position_at_once(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db"), faulty=True) as rig:
        _faulty(rig).reject_stop_loss = True
        await rig.until(lambda: "stop_loss_failed" in rig.kinds(), "refused stop-loss")
        symbol = next(e.symbol for e in rig.events if e.kind == "stop_loss_failed")
        refused_at = rig.engine.clock_ms()
        await rig.until(lambda: symbol not in rig.engine.trades, "close", within_s=0.1)
        # Closed within the same engine step (lockstep): market time did not move meanwhile.
        assert rig.engine.clock_ms() == refused_at
        assert [p for p in await rig.broker.positions() if p.symbol == symbol] == []
        closed = [p for p in await rig.store.closed_positions(limit=50) if p.symbol == symbol]
        assert closed and closed[0].exit_reason == "stop_loss_failed"
        alert = next(e for e in rig.events if e.kind == "stop_loss_failed")
        assert alert.data["level"] == "alert"
        assert symbol not in rig.engine.trades


async def test_a_lost_answer_is_resolved_by_order_link_id_never_resent(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db"), faulty=True) as rig:
        faulty = _faulty(rig)
        faulty.lose_answers = 1
        faulty.lookup_misses = 2
        await rig.until(lambda: "order_resolved" in rig.kinds(), "resolved order")
        await rig.until(lambda: "opened" in rig.kinds(), "position opened")
        symbol = next(e.symbol for e in rig.events if e.kind == "order_resolved")
        entries = [r for r in faulty.placed if r.symbol == symbol and not r.reduce_only]
        assert len(entries) == 1
        assert [p.symbol for p in await rig.store.open_positions()].count(symbol) == 1
        order = await rig.store.order(entries[0].order_link_id)
        assert order is not None and order.status is OrderStatus.FILLED
        venue = [p for p in await rig.broker.positions() if p.symbol == symbol]
        assert len(venue) == 1 and venue[0].protected


async def test_close_all_retries_a_failed_cancel_until_flat(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db"), faulty=True) as rig:
        faulty = _faulty(rig)
        await rig.until(lambda: len(rig.engine.trades) >= 2, "two open positions")
        faulty.fail_cancels = 1
        await rig.engine.close_all()
        assert faulty.cancel_calls >= 2
        assert await rig.broker.positions() == []
        assert await rig.broker.open_orders() == []
        assert await rig.store.open_positions() == []
        assert "close_all_error" in rig.kinds() and "close_all_done" in rig.kinds()
        assert rig.engine.mode is TradingMode.MANUAL


async def test_an_order_that_never_reached_the_venue_is_closed_as_such(tmp_path: Path) -> None:
    config = make_config(tmp_path / "e.db", engine={"order_lookup_attempts": 3})
    async with engine_rig(config, faulty=True) as rig:
        faulty = _faulty(rig)
        faulty.drop_requests = 1
        await rig.until(lambda: "order_not_placed" in rig.kinds(), "unresolved order")
        link = next(r.order_link_id for r in faulty.placed if not r.reduce_only)
        order = await rig.store.order(link)
        assert order is not None and order.status is OrderStatus.REJECTED
        assert "never reached" in order.reject_reason
        assert [r.order_link_id for r in faulty.placed].count(link) == 1
        assert await rig.broker.positions() == []


async def test_a_position_the_engine_lost_track_of_is_adopted_with_its_stop(
    tmp_path: Path,
) -> None:
    """The answer was lost and lookups kept missing: the engine gave the order up, but the venue
    had filled it. Reconciliation finds the position and follows it, stop-loss and all."""
    config = make_config(
        tmp_path / "e.db", engine={"order_lookup_attempts": 2, "reconcile_s": 5.0},
    )
    async with engine_rig(config, faulty=True) as rig:
        faulty = _faulty(rig)
        faulty.lose_answers = 1
        faulty.lookup_misses = 2
        await rig.until(lambda: "order_not_placed" in rig.kinds(), "given-up order")
        given_up_at = rig.engine.clock_ms()
        symbol = next(e.symbol for e in rig.events if e.kind == "order_not_placed")
        await rig.until(lambda: "adopted" in rig.kinds(), "adoption", within_s=6.0)
        assert rig.engine.clock_ms() - given_up_at <= 6_000
        stored = [p for p in await rig.store.open_positions() if p.symbol == symbol]
        venue = [p for p in await rig.broker.positions() if p.symbol == symbol]
        assert len(stored) == 1 and len(venue) == 1
        assert stored[0].stop_loss == venue[0].stop_loss and venue[0].protected
        entries = [r for r in faulty.placed if r.symbol == symbol and not r.reduce_only]
        assert len(entries) == 1

