"""Whatever is traded and however prices jump, the paper wallet never goes below zero."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from densitytui.market.book import OrderBook
from densitytui.model import Instrument, OrderRequest, Side, Trade
from densitytui.venues.base import OrderRejected
from densitytui.venues.paper import PaperBroker

SYMBOL = "PROPUSDT"
INSTRUMENT = Instrument(SYMBOL, tick_size=0.1, qty_step=0.01, min_qty=0.01, min_notional=5.0,
                        max_market_qty=1_000.0, max_leverage=100.0)

actions = st.lists(
    st.one_of(
        st.tuples(st.just("price"), st.floats(5.0, 500.0), st.floats(0.05, 30.0)),
        st.tuples(st.just("buy"), st.floats(0.01, 60.0), st.floats(0.0, 0.2)),
        st.tuples(st.just("sell"), st.floats(0.01, 60.0), st.floats(0.0, 0.2)),
        st.tuples(st.just("close"), st.floats(0.01, 60.0), st.just(0.0)),
        st.tuples(st.just("trade"), st.floats(1.0, 600.0), st.just(0.0)),
        st.tuples(st.just("stop"), st.floats(0.0, 0.3), st.just(0.0)),
    ),
    min_size=1,
    max_size=40,
)


def _book(mid: float, size: float) -> OrderBook:
    book = OrderBook(SYMBOL)
    bids = [[f"{round(mid - 0.1 * k, 1):.1f}", f"{size * k:.2f}"] for k in range(1, 6)]
    asks = [[f"{round(mid + 0.1 * k, 1):.1f}", f"{size * k:.2f}"] for k in range(1, 6)]
    book.apply(True, bids, asks, 1, 1, 0)
    return book


async def _play(steps: list[tuple[str, float, float]], leverage: float) -> None:
    books: dict[str, OrderBook] = {SYMBOL: _book(100.0, 5.0)}
    clock = [0]
    broker = PaperBroker([INSTRUMENT], books.get, lambda: clock[0], starting_balance=200.0,
                         leverage=leverage)
    mid = 100.0
    for number, (action, a, b) in enumerate(steps):
        clock[0] += 10
        try:
            if action == "price":
                mid = round(a, 1)
                books[SYMBOL] = _book(mid, b)
            elif action in ("buy", "sell"):
                side = Side.BUY if action == "buy" else Side.SELL
                stop = mid * (1 - b) if side is Side.BUY else mid * (1 + b)
                await broker.place_order(OrderRequest(
                    f"o{number}", SYMBOL, side, a, stop_loss=stop if b > 0.01 else None))
            elif action == "close":
                for position in await broker.positions():
                    await broker.place_order(OrderRequest(
                        f"c{number}", SYMBOL, position.side.opposite, a, reduce_only=True))
            elif action == "trade":
                broker.on_trade(Trade(SYMBOL, clock[0], round(a, 1), 1.0, Side.SELL))
            else:
                for position in await broker.positions():
                    away = mid * (1 - a) if position.side is Side.BUY else mid * (1 + a)
                    await broker.set_stop_loss(SYMBOL, away)
        except OrderRejected:
            pass
        balance = await broker.balance()
        assert balance.wallet >= -1e-9, (number, action, balance)
        assert balance.available >= 0.0
        assert balance.equity >= -1e-9, (number, action, balance)
        assert balance.available <= balance.wallet + 1e-9


@settings(max_examples=250, deadline=None)
@given(actions, st.sampled_from([1.0, 10.0, 50.0, 100.0]))
def test_the_wallet_never_goes_negative(steps: list[tuple[str, float, float]],
                                        leverage: float) -> None:
    asyncio.run(_play(steps, leverage))
