"""`densitytui run --headless`: the whole engine without the UI, one line per event.

SIGINT and SIGTERM stop it cleanly: entries stop, open positions keep their stop-losses on the
exchange, the account's state is stored. SIGUSR1 is the app's CLOSE ALL key: cancel every order,
close every position, verify flat, then manual mode (`kill -USR1 PID` from another terminal).
`--duration` counts the venue's time (the simulated market's virtual seconds), so a fast
simulated run covers as much market as a slow one.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from typing import TextIO

from densitytui.config import Config
from densitytui.engine.engine import EngineStartError, TradingEngine
from densitytui.engine.lock import AccountLocked
from densitytui.engine.runner import EngineOptions, VenueNotBuilt, open_engine
from densitytui.model import AppEvent
from densitytui.storage import StoreError, open_store
from densitytui.venues.base import ExchangeError


def event_line(event: AppEvent) -> str:
    """`2024-08-08T23:54:16.123Z  signal  BTCUSDT  text` (ms, UTC)."""
    when = datetime.fromtimestamp(event.ts / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return f"{when}Z  {event.kind:<16} {event.symbol or '-':<12} {event.message}"


async def run_headless(
    config: Config,
    duration_s: float | None,
    options: EngineOptions,
    out: TextIO = sys.stdout,
) -> int:
    """Run until the duration is over or a signal arrives; the exit status."""
    try:
        store = await open_store(config.storage)
    except StoreError as exc:
        print(f"densitytui: no store, no trading: {exc}", file=sys.stderr)
        return 2
    try:
        await store.lock_account(config.app.venue)
    except (AccountLocked, StoreError) as exc:
        await store.close()
        print(f"densitytui: {exc}", file=sys.stderr)
        return 2
    engine: TradingEngine | None = None
    close_key = CloseAllKey()
    loop = asyncio.get_running_loop()
    # Before the engine starts: the signal's default action would end the process.
    loop.add_signal_handler(signal.SIGUSR1, close_key.press)
    try:
        try:
            engine = await open_engine(config, store, options)
        except VenueNotBuilt as exc:
            print(f"densitytui: {exc}", file=sys.stderr)
            return 2
        engine.listeners.append(lambda event: print(event_line(event), file=out, flush=True))
        try:
            await engine.start()
        except EngineStartError as exc:
            print(f"densitytui: {exc}", file=sys.stderr)
            return 2
        except ExchangeError as exc:
            # The venue refused what a start needs (the balance: a bad key, a ban): one line.
            print(f"densitytui: {engine.venue.name} cannot start: {exc}", file=sys.stderr)
            return 2
        close_key.started(engine)
        await _until_done(engine, duration_s)
        # A close-all under way finishes before the engine stops: it is the trader's order.
        await close_key.finish()
        await engine.stop()
        _summary(engine, out)
        return 0
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        if engine is not None:
            await engine.stop()
            await engine.venue.market.close()
            await engine.exchange.close()
        await store.close()


async def _until_done(engine: TradingEngine, duration_s: float | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    end = None if duration_s is None else engine.clock_ms() + round(duration_s * 1000)
    runner = asyncio.create_task(engine.run(until_ms=end))
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([runner, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if runner.done():
        runner.result()
    else:
        await engine.stop()
        await runner


class CloseAllKey:
    """SIGUSR1, the CLOSE ALL key: each press closes everything; a press while the engine is
    still starting is kept until it has started."""

    def __init__(self) -> None:
        self._engine: TradingEngine | None = None
        self._pending = False
        self._tasks: set[asyncio.Task[None]] = set()

    def press(self) -> None:
        if self._engine is None:
            self._pending = True
        else:
            self._close(self._engine)

    def started(self, engine: TradingEngine) -> None:
        self._engine = engine
        if self._pending:
            self._pending = False
            self._close(engine)

    def _close(self, engine: TradingEngine) -> None:
        task = asyncio.get_running_loop().create_task(engine.close_all())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finish(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _summary(engine: TradingEngine, out: TextIO) -> None:
    stats = engine.market.stats
    balance = engine.balance
    print(
        f"done: {stats.total_messages} messages ({stats.total_malformed} malformed), "
        f"{len(engine.trades)} position(s) still open and protected, equity "
        f"{balance.equity:.2f} USDT" if balance else "done",
        file=out, flush=True,
    )
