"""A paper account whose requests take time to reach the exchange (a replay's feed + order
latency): a position's stop counts only from its fill's arrival, a stop change only from its
own, and one the price has already passed on arrival is refused with the old stop kept."""

from __future__ import annotations

from paper_desk import TEST, Desk

from densitytui.model import Side
from densitytui.venues.paper import PaperBroker

DELAY = 70


def _desk() -> Desk:
    desk = Desk()
    desk.broker = PaperBroker(desk.instruments, desk.books.get, lambda: desk.now,
                              request_delay_ms=DELAY)
    desk.show([(99.0, 10.0), (98.0, 10.0), (97.0, 10.0)], [(101.0, 10.0)])
    return desk


async def test_no_trade_before_the_fill_arrives_triggers_its_stop() -> None:
    desk = _desk()
    await desk.order(Side.BUY, 1.0, stop=99.5)
    opened = desk.now
    desk.trade(99.0)  # through the stop, but before the position exists on the exchange
    assert [p.qty for p in await desk.broker.positions()] == [1.0]
    desk.now = opened + DELAY - 1
    desk.trade(99.0)  # at opened + DELAY: the fill has arrived
    assert await desk.broker.positions() == []


async def test_a_stop_change_counts_from_its_arrival_the_old_one_until_then() -> None:
    desk = _desk()
    await desk.order(Side.BUY, 1.0, stop=97.5)
    desk.now += DELAY
    sent = desk.now
    await desk.broker.set_stop_loss(TEST.symbol, 99.5)
    # The position shows the stop asked for at once; the one in force is still 97.5.
    [position] = await desk.broker.positions()
    assert position.stop_loss == 99.5
    desk.trade(99.0)
    assert [p.qty for p in await desk.broker.positions()] == [1.0]
    desk.now = sent + DELAY - 1
    desk.trade(99.0)  # arrives: the last price (99.0) is below 99.5, so the long's stop
    # would be on its wrong side and is refused; 97.5 stays.
    [position] = await desk.broker.positions()
    assert position.stop_loss == 97.5
    assert desk.broker.stops_refused == [(sent + DELAY, TEST.symbol, 99.5)]
    desk.trade(97.0)
    assert await desk.broker.positions() == []


async def test_a_stop_change_that_arrives_in_time_takes_over() -> None:
    desk = _desk()
    await desk.order(Side.BUY, 1.0, stop=97.5)
    desk.now += DELAY
    desk.trade(100.0)
    sent = desk.now
    await desk.broker.set_stop_loss(TEST.symbol, 99.5)
    desk.now = sent + DELAY - 1
    desk.trade(100.0)  # arrives with the last price above it: taken
    desk.trade(99.4)
    assert await desk.broker.positions() == []
    assert desk.broker.stops_refused == []


async def test_without_a_delay_everything_is_at_once() -> None:
    desk = Desk()
    desk.show([(99.0, 10.0)], [(101.0, 10.0)])
    await desk.order(Side.BUY, 1.0, stop=99.5)
    desk.trade(99.0)
    assert await desk.broker.positions() == []
