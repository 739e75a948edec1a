"""`PaperBroker.on_prices`: a trade message's prices at once, exactly as `on_trade` of each.

Two desks, the same orders and books; one is fed `Trade` objects one by one, the other the prices
in messages. Their updates, positions and balances must match trade for trade: flat (only the
last price counts), a stop that a message's middle trade fires and that the book fills only in
part, the rest at the next message, and a liquidation."""

from __future__ import annotations

from paper_desk import Desk

from densitytui.model import Side, Trade


async def _both(messages: list[list[float]], *, balance: float = 1_000.0,
                stop: float | None = 98.0, qty: float = 1.0,
                refill: int | None = None) -> tuple[Desk, Desk]:
    """Both desks through `messages`; the thin book after the entry is deep again from message
    `refill` on."""
    one, many = Desk(balance=balance), Desk(balance=balance)
    for desk in (one, many):
        desk.show([(99.9, 50)], [(100.0, 50)])
        await desk.order(Side.BUY, qty, stop=stop)
        desk.show([(97.5, 0.4), (97.0, 0.2)], [(99.0, 5)])
    for n, prices in enumerate(messages):
        for desk in (one, many):
            desk.now += 1
            if n == refill:
                desk.show([(97.2, 50)], [(99.0, 5)])
        for price in prices:
            one.broker.on_trade(Trade("TESTUSDT", one.now, price, 0.1, Side.SELL))
        many.broker.on_prices("TESTUSDT", prices)
        assert many.drain() == one.drain()
        assert await many.broker.positions() == await one.broker.positions()
        assert await many.broker.balance() == await one.broker.balance()
        assert many.broker._last_price == one.broker._last_price
    return one, many


async def test_flat_only_the_last_price_counts() -> None:
    one, many = Desk(), Desk()
    for prices in ([100.0], [99.5, 99.7, 99.6], []):
        for price in prices:
            one.broker.on_trade(Trade("TESTUSDT", one.now, price, 0.1, Side.SELL))
        many.broker.on_prices("TESTUSDT", prices)
        assert many.broker._last_price == one.broker._last_price
    assert many.broker._last_price == {"TESTUSDT": 99.6}


async def test_a_stop_fired_inside_a_message_fills_as_trade_by_trade() -> None:
    one, _ = await _both([[99.0, 98.5], [98.6, 97.9, 98.2], [97.4], [98.8]], refill=3)
    assert await one.broker.positions() == []


async def test_a_liquidation_inside_a_message_as_trade_by_trade() -> None:
    await _both([[95.0, 91.0, 89.0, 99.0]], balance=100.0, stop=None, qty=9.0)
