"""Stops on the real BTC recording fill on the exchange's book, rebuilt independently here from
the JSON, as of the trade that triggers them; never on the engine's book, which this test breaks
(invalid) for as long as each position is open, nor on the book `latency` later.

The paper broker runs over the replay as a backtest builds it (orders on the look-ahead book,
stops on the replay's exchange book, requests `DELAY` ms of recorded time on their way). The
test opens a position of 0.001 BTC, alternately long and short, with a stop 0.01 % away, each
time it has been flat for `PAUSE_MS`, and closes it at market (its book mended first) if the
stop has not done so within `HOLD_MS`; the expected exit of each stop comes from plain dicts."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
from pathlib import Path
from typing import Any

from densitytui.market.book import OrderBook
from densitytui.market.decode import BookMessage, TradeMessage, decode_frame
from densitytui.model import Fill, OrderRequest, Position, Side
from densitytui.venues.paper import PaperBroker
from densitytui.venues.replay import KNOWN_INSTRUMENTS, ReplayMarketData

SYMBOL = "BTCUSDT"
DELAY = 70
PAUSE_MS = 3_000
HOLD_MS = 20_000
QTY = 0.001
STOP_PCT = 0.01


def _stop(side: Side, last: float) -> float:
    """0.01 % from the last price on the tick of 0.1, away from it."""
    away = last * (1 - STOP_PCT / 100 * side.sign) * 10
    return (math.floor(away) if side is Side.BUY else math.ceil(away)) / 10


async def _trade_the_replay(path: Path) -> list[dict[str, Any]]:
    """Side, opening time and stop of every position opened, with the exit time and price of
    those the broker closed."""
    shadow = OrderBook(SYMBOL, 200)
    broken = OrderBook(SYMBOL, 200)
    engine_books = {SYMBOL: shadow}
    replay = ReplayMarketData([path], engine_books.get, latency_ms=DELAY)
    broker = PaperBroker(
        [KNOWN_INSTRUMENTS[SYMBOL]], replay.fill_book, replay.now_ms, exchange_books=replay,
        request_delay_ms=DELAY, mark_book_for=engine_books.get,
    )
    positions: list[dict[str, Any]] = []
    flat_since = 0
    last = 0.0
    side = Side.BUY
    async for frame in replay.messages():
        message = decode_frame(frame)
        if isinstance(message, BookMessage):
            shadow.apply_message(message)
            continue
        if not isinstance(message, TradeMessage):
            continue
        broker.on_trades(message.trades)
        last = message.trades[-1].price
        now = replay.now_ms()
        held = await broker.positions()
        if held and now - positions[-1]["opened"] >= HOLD_MS:
            engine_books[SYMBOL] = shadow
            await broker.place_order(OrderRequest(
                f"x{len(positions)}", SYMBOL, held[0].side.opposite, QTY, reduce_only=True,
            ))
            positions[-1]["timed_out"] = True
            held = []
        if not held:
            if engine_books[SYMBOL] is broken:
                engine_books[SYMBOL] = shadow
                flat_since = now
            if flat_since and now - flat_since >= PAUSE_MS and shadow.valid:
                stop = _stop(side, last)
                await broker.place_order(OrderRequest(
                    f"t{len(positions)}", SYMBOL, side, QTY, stop_loss=stop,
                ))
                positions.append({"side": side, "opened": now, "stop": stop})
                # From here to the close the engine's book is broken.
                engine_books[SYMBOL] = broken
                side = side.opposite
            elif not flat_since:
                flat_since = now
    await broker.close()
    closes: list[Fill] = []
    async for update in broker.updates():
        if isinstance(update, Fill) and update.order_link_id == "":
            closes.append(update)
        if isinstance(update, Position) and update.closed_at is not None:
            assert update.exit_reason in ("", "stop_loss"), update
    stopped = [p for p in positions if not p.get("timed_out")]
    # Every position not timed out but perhaps the last (open when the data ends) closed at
    # its stop.
    assert len(stopped) - len(closes) in (0, 1)
    for position, fill in zip(stopped, closes, strict=False):
        position["exit_time"] = fill.ts
        position["exit_price"] = fill.price
    return positions


def _frames(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _apply(book: dict[str, dict[float, float]], frame: dict[str, Any]) -> None:
    if frame["type"] == "snapshot":
        book["b"].clear()
        book["a"].clear()
    for side in ("b", "a"):
        for price, size in frame["data"][side]:
            if float(size) == 0:
                book[side].pop(float(price), None)
            else:
                book[side][float(price)] = float(size)


def _walk(book: dict[str, dict[float, float]], closing: Side, through: float) -> float:
    """Where a close of 0.001 fills: the best level no better than the trigger print, else
    the print (every BTC level holds at least 0.001)."""
    if closing is Side.SELL:
        levels = [p for p in book["b"] if p <= through]
        return max(levels) if levels else through
    levels = [p for p in book["a"] if p >= through]
    return min(levels) if levels else through


def _expected(frames: list[dict[str, Any]], position: dict[str, Any]) -> dict[str, Any]:
    """The first print through the stop from the fill's arrival on, and the fills on the book
    as of that print, as of `DELAY` later, and at the print itself."""
    side: Side = position["side"]
    book: dict[str, dict[float, float]] = {"b": {}, "a": {}}
    clock = 0
    for n, frame in enumerate(frames):
        clock = max(clock, frame["ts"])
        if frame["topic"].startswith("orderbook."):
            _apply(book, frame)
            continue
        if clock < position["opened"] + DELAY:
            continue
        for item in frame["data"]:
            price = float(item["p"])
            if price <= position["stop"] if side is Side.BUY else price >= position["stop"]:
                later = {"b": dict(book["b"]), "a": dict(book["a"])}
                for ahead in frames[n + 1:]:
                    if ahead["ts"] > clock + DELAY:
                        break
                    if ahead["topic"].startswith("orderbook."):
                        _apply(later, ahead)
                return {
                    "exit_time": clock, "exit_price": _walk(book, side.opposite, price),
                    "later": _walk(later, side.opposite, price), "print": price,
                }
    return {"exit_time": None}


def test_every_stop_fills_on_the_recorded_book_as_of_its_trade(btc_file: Path) -> None:
    positions = asyncio.run(_trade_the_replay(btc_file))
    frames = _frames(btc_file)
    closed = [p for p in positions if "exit_time" in p]
    assert len(closed) >= 15, f"only {len(closed)} stops in the run"
    differ_from_later = differ_from_print = 0
    for position in closed:
        expected = _expected(frames, position)
        assert (position["exit_time"], position["exit_price"]) == (
            expected["exit_time"], expected["exit_price"],
        ), position
        differ_from_later += expected["later"] != expected["exit_price"]
        differ_from_print += expected["print"] != expected["exit_price"]
    # The run tells the three books apart: the exchange's as of the trade, as of `DELAY`
    # later (what stops used to fill on), and none (a fill at the print).
    assert differ_from_later > 0
    assert differ_from_print > 0
