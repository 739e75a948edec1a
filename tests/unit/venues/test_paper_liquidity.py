"""Fills take liquidity: orders in a row on an unchanged book fill as one order of their sum would."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from paper_desk import Desk, make_book

from densitytui.model import Fill, Instrument, OrderRequest, Side
from densitytui.venues.base import OrderRejected

# No minimum notional, so that every order of at least one step may fill.
LIQ = Instrument("LIQUSDT", tick_size=0.1, qty_step=0.001, min_qty=0.001, min_notional=0.0,
                 max_market_qty=1_000.0)
levels = st.lists(st.integers(1, 400), min_size=1, max_size=8)
orders = st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 900)),
                  min_size=1, max_size=8)


def _expected(sizes: dict[Side, list[tuple[float, int]]], side: Side, steps: int,
              ) -> list[tuple[float, int]]:
    """The oracle: walk what is left of the levels (in steps), taking it away as it goes."""
    fills = []
    ladder = sizes[side]
    for i, (price, left) in enumerate(ladder):
        if steps == 0:
            break
        taken = min(left, steps)
        if taken:
            fills.append((price, taken))
            ladder[i] = (price, left - taken)
            steps -= taken
    return fills


async def _play(bids: list[int], asks: list[int], sequence: list[tuple[Side, int]]) -> None:
    desk = Desk(balance=10_000_000.0, leverage=100.0, instruments=[LIQ])
    bid_levels = [(round(100.0 - 0.1 * k, 1), steps) for k, steps in enumerate(bids)]
    ask_levels = [(round(100.1 + 0.1 * k, 1), steps) for k, steps in enumerate(asks)]
    desk.books["LIQUSDT"] = make_book(
        "LIQUSDT",
        [(price, steps / 1000) for price, steps in bid_levels],
        [(price, steps / 1000) for price, steps in ask_levels],
    )
    left = {Side.BUY: list(ask_levels), Side.SELL: list(bid_levels)}
    for number, (side, steps) in enumerate(sequence):
        expected = _expected(left, side, steps)
        request = OrderRequest(f"o{number}", "LIQUSDT", side, steps / 1000)
        try:
            await desk.broker.place_order(request)
        except OrderRejected as rejected:
            assert not expected, (number, rejected)
            assert "EC_NoImmediateQtyToFill" in rejected.ret_msg
            continue
        fills = [(u.price, round(u.qty * 1000)) for u in desk.drain() if isinstance(u, Fill)]
        assert fills == expected, (number, side, steps)


@settings(max_examples=200, deadline=None)
@given(levels, levels, orders)
def test_orders_in_a_row_never_take_a_level_twice(bids: list[int], asks: list[int],
                                                  sequence: list[tuple[Side, int]]) -> None:
    asyncio.run(_play(bids, asks, sequence))
