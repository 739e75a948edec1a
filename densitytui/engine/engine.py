"""`TradingEngine`: venue data → market engine → signals → checks → orders; the account kept safe.

One engine trades one account on one venue. This module wires its parts and runs its loops:
`MarketFeed` (each public frame through the market engine to signals and exit checks),
`EntryDesk` (signals to decisions and entries), `RiskGate` (the trading state and the entry
checks), `PositionBook` (open trades, stops, exits, closes, reconciliation), `Executor` (orders
on the exchange), `Housekeeper` (the periodic work) and `EventBus` (events for the UI, the
listeners and the store); docs/ARCHITECTURE.md draws the flow. In manual mode signals are only
shown; in semi mode each waits for `confirm` or `reject` until its TTL; in auto mode it enters
at once. Whatever the mode, every open position stays under a stop-loss on the exchange. The UI
is never needed: it reads `snapshot()`, `book()`, `densities()` and `events_since()` and sends
the commands below.

Time: `clock_ms` is the venue's time (the simulated market's virtual clock, wall time on
Bybit); `receive_ms` is the local receive time that judges staleness (the same clock unless
given). Every journal write is awaited before the exchange is asked to act on it; a journal that
fails stops entries (the status says why) while open positions keep their stops.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from densitytui.engine.account_state import AccountState, AccountStateError
from densitytui.engine.entries import EntryDesk
from densitytui.engine.events import EventBus, EventKind
from densitytui.engine.execution import ExecutionRules, Executor, LinkIds
from densitytui.engine.feed import MarketFeed
from densitytui.engine.housekeeping import HOUSEKEEPING_MS, Housekeeper
from densitytui.engine.journal import Journal, JournalError
from densitytui.engine.positions import PositionBook
from densitytui.engine.risk import RiskGate
from densitytui.engine.rules import RulesBySymbol
from densitytui.engine.safety import Safety
from densitytui.engine.state import EngineSnapshot
from densitytui.engine.tasks import EngineTasks
from densitytui.engine.view import cannot_trade, engine_status, mover_rows, pending_signal
from densitytui.market.engine import MarketEngine
from densitytui.model import (
    AppEvent,
    Balance,
    Density,
    Fill,
    Order,
    Position,
    TradingMode,
)
from densitytui.strategy.checks import RiskRules
from densitytui.venues.base import SimulatedAccount, Venue

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.market.book import OrderBook
    from densitytui.market.movers import Movers
    from densitytui.model import Instrument


class EngineStartError(Exception):
    """The engine cannot start safely; the message says why."""


class TradingEngine:
    """The engine of one account (see the module doc)."""

    def __init__(
        self,
        config: Config,
        venue: Venue,
        journal: Journal,
        *,
        clock_ms: Callable[[], int],
        receive_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        change_24h: dict[str, float] | None = None,
        market: MarketEngine | None = None,
        lockstep: bool = False,
        scratch_journal: bool = False,
    ) -> None:
        self.config = config
        self.venue = venue
        self.exchange = account = venue.exchange
        self.journal = journal
        self.clock_ms = clock_ms
        self.receive_ms = receive_ms or clock_ms
        self.lockstep = lockstep
        # An account simulated here (paper) is fed by the public stream: looked up once.
        self._simulated = account if isinstance(account, SimulatedAccount) else None
        self.market = market or MarketEngine(config, change_24h)
        self.mode = config.app.mode
        self.events = EventBus(clock_ms)
        self.listeners = self.events.listeners
        self._emit = self.events.emit
        self.tasks = EngineTasks(
            lambda exc: self._emit(EventKind.ENGINE_ERROR, f"internal error: {exc!r}", ""),
        )
        spawn = self.tasks.spawn
        self.gate = RiskGate(RiskRules.from_config(config))
        # A journal thrown away after the run, read back for its trades only (a backtest's):
        # no density history and no state for a restart (safety, paper account) go to it.
        self.state = AccountState(
            journal, account, self.gate.safety, clock_ms=clock_ms,
            store_failed=self._store_failed, scratch=scratch_journal,
        )
        engine = config.engine
        prefix = engine.link_id_prefix or f"dt{secrets.token_hex(4)}"
        self.executor = Executor(
            account, journal, LinkIds(prefix), clock_ms, self._emit, self._store_failed,
            ExecutionRules(
                order_timeout_s=engine.order_timeout_s,
                lookup_attempts=engine.order_lookup_attempts,
                lookup_interval_s=engine.order_lookup_interval_s,
                close_all_attempts=engine.close_all_attempts,
            ),
            sleep,
        )
        self.fee_rate = config.paper.taker_fee_pct / 100.0
        self.instruments: dict[str, Instrument] = {}
        rules_of = RulesBySymbol(config, self.fee_rate)
        last_price: dict[str, float] = {}
        self.positions = PositionBook(
            self.executor, journal, self.market, self._emit, clock_ms=clock_ms,
            instruments=self.instruments, last_price=last_price, rules_of=rules_of,
            spawn=spawn, store_failed=self._store_failed, on_closed=self.gate.safety.on_closed,
            save_state=self.state.save, save_account=self.state.save_account,
            fee_rate=self.fee_rate, protect_stop_pct=engine.protect_stop_pct,
            # A lockstep replay answers an order at once in recorded time: the engine learns
            # its fill only after the modelled order and answer latencies.
            answer_after_ms=(
                config.backtest.latency_ms + config.backtest.answer_latency_ms if lockstep else 0
            ),
        )
        self.trades = self.positions.trades
        self.desk = EntryDesk(
            config, self.gate, self.executor, self.positions, self.market, journal, self._emit,
            clock_ms=clock_ms, instruments=self.instruments, last_price=last_price,
            rules_of=rules_of, spawn=spawn, store_failed=self._store_failed,
            mode=lambda: self.mode, balance=lambda: self.housekeeper.balance,
            movers=lambda: self.housekeeper.movers,
            book_age_ms=lambda symbol: self.feed.book_age(symbol, self.receive_ms()),
            venue_problem=lambda: self.venue_problem,
        )
        self.signals = self.desk.signals
        self.handled = self.desk.handled
        self.feed = MarketFeed(
            config, self.market, account, receive_ms=self.receive_ms,
            instruments=self.instruments, trades=self.trades, last_price=last_price,
            rules_of=rules_of, on_signal=self.desk.on_signal,
            check_exits=self.positions.check_exits, keep_density_events=not scratch_journal,
        )
        self.on_frame = self.feed.on_frame
        self.housekeeper = Housekeeper(
            config, venue, journal, self.market, self.feed, self.desk, self.positions,
            self.executor, self.gate, self._emit, clock_ms=clock_ms, instruments=self.instruments,
            save_state=self.state.save, close_all=self.close_all, store_failed=self._store_failed,
            keep_history=not scratch_journal,
        )
        self._loops: list[asyncio.Task[Any]] = []
        self._stopped = asyncio.Event()
        self._until_ms: int | None = None
        self._next_housekeeping = 0
        self._housekeeping: asyncio.Task[None] | None = None
        self._snapshot_version = 0

    @property
    def safety(self) -> Safety:
        return self.gate.safety

    @property
    def paused(self) -> bool:
        return self.gate.paused

    @property
    def balance(self) -> Balance | None:
        return self.housekeeper.balance

    @property
    def movers(self) -> Movers | None:
        return self.housekeeper.movers

    @property
    def watched(self) -> set[str]:
        return self.housekeeper.watched

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    # ---- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore the account's state, reconcile with the venue, pick movers and subscribe."""
        now = self.clock_ms()
        self._loops.append(asyncio.create_task(
            self.events.write(self.journal.append_events, self._store_failed),
            name="engine events",
        ))
        await self.state.restore_safety()
        if self.safety.killed_at is not None and self.mode is not TradingMode.MANUAL:
            self.mode = TradingMode.MANUAL
            self._emit(EventKind.MODE, "the kill switch fired before the restart: manual mode", "")
        try:
            if await self.state.restore_account():
                self._emit(EventKind.ACCOUNT, "paper account restored from the store", "")
        except AccountStateError as exc:
            raise EngineStartError(str(exc)) from None
        for instrument in await self.venue.market.instruments():
            if instrument.tradable:
                self.instruments[instrument.symbol] = instrument
                self.market.set_instrument(instrument)
                self.feed.forget(instrument.symbol)
        if await self.gate.check_margin_mode(self.exchange):
            self._emit(EventKind.MARGIN_MODE, self.gate.margin_problem, "")
        for position in await self.journal.open_positions(self.exchange.name):
            signal = await self.journal.signal(position.signal_id) if position.signal_id else None
            self.positions.resume(position, signal)
        await self.housekeeper.reconcile(now)
        self.housekeeper.balance = await self.exchange.balance()
        await self.housekeeper.refresh_movers()
        self._loops.append(asyncio.create_task(self._feed(), name="engine feed"))
        self._loops.append(asyncio.create_task(self._account(), name="engine account"))
        if not self.lockstep:
            self._loops.append(asyncio.create_task(self._timer(), name="engine timer"))
        self._emit(
            EventKind.STARTED,
            f"engine on {self.venue.name} in {self.mode.value} mode, "
            f"{len(self.trades)} open position(s), watching {len(self.watched)} symbols",
            "",
        )

    async def run(self, until_ms: int | None = None) -> None:
        """Until `stop()`, or until the venue's clock reaches `until_ms` (checked after each
        frame, so a simulated run ends at the same message every time); a failed loop ends it
        and is raised here."""
        self._until_ms = until_ms
        stopper = asyncio.create_task(self._stopped.wait())
        try:
            done, _ = await asyncio.wait(
                [stopper, *self._loops], return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]
        finally:
            stopper.cancel()

    async def stop(self) -> None:
        """Stop entries and every loop; open positions keep their stops on the exchange."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.gate.paused = True
        self._emit(
            EventKind.STOPPED, f"engine stopped; {len(self.trades)} position(s) stay protected", "",
        )
        running = (*self.tasks.running, *self._loops)
        tasks = [t for t in running if t.get_name() != "engine events"]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.housekeeper.store_market_history(self.clock_ms())
        except JournalError as exc:
            self._store_failed(exc)
        await self.state.save()
        self.events.close()
        await asyncio.gather(*self._loops, return_exceptions=True)

    # ---- commands (EngineControl) ---------------------------------------------------------------

    async def confirm(self, signal_id: str) -> None:
        started = time.perf_counter()
        signal = self.signals.get(signal_id)
        if signal is None:
            self._emit(EventKind.REFUSED, f"signal {signal_id} is no longer pending", "")
            return
        if self.mode is TradingMode.MANUAL:
            self._emit(
                EventKind.REFUSED, "manual mode: signals are shown, never executed", signal.symbol,
            )
            return
        await self.desk.enter(signal, "confirm", started)

    async def reject(self, signal_id: str) -> None:
        await self.desk.reject(signal_id)

    async def close_position(self, symbol: str) -> None:
        trade = self.trades.get(symbol)
        if trade is None:
            self._emit(EventKind.REFUSED, f"no open position on {symbol}", symbol)
            return
        await self.positions.close(trade, "manual")

    async def close_all(self) -> None:
        """Cancel, close everything concurrently, verify flat; then manual mode."""
        self.mode = TradingMode.MANUAL
        self._emit(EventKind.CLOSE_ALL, f"close all: {len(self.trades)} position(s)", "")
        for trade in self.trades.values():
            trade.closing = trade.closing or "close_all"
        flat, closes = await self.executor.close_all()
        for symbol, answer in closes.items():
            trade = self.trades.get(symbol)
            if trade is not None:
                await self.positions.finish(trade, answer.avg_price, trade.closing, answer.fee)
        try:
            await self.housekeeper.reconcile(self.clock_ms())
        except JournalError as exc:
            self._store_failed(exc)
        self._emit(
            EventKind.CLOSE_ALL_DONE if flat else EventKind.CLOSE_ALL_ALERT,
            "flat: no position, no order" if flat else "NOT FLAT after close all",
            "",
        )

    async def set_mode(self, mode: TradingMode) -> None:
        """Switch mode. Leaving manual after the kill switch fired is the trader's
        acknowledgment: the equity peak starts again from the equity now."""
        if mode is not TradingMode.MANUAL and self.safety.killed_at is not None:
            self.safety.killed_at = None
            balance = self.housekeeper.balance = await self.exchange.balance()
            self.safety.equity_peak = balance.equity
            self._emit(
                EventKind.KILL_SWITCH_RESET,
                f"kill switch reset: equity peak now {balance.equity:.2f}", "",
            )
            await self.state.save()
        self.mode = mode
        self._emit(EventKind.MODE, f"mode {mode.value}", "")

    async def pause_entries(self, paused: bool) -> None:
        self.gate.paused = paused
        text = "entries paused" if paused else "entries on"
        self._emit(EventKind.PAUSED if paused else EventKind.RESUMED, text, "")

    # ---- queries (EngineControl) ----------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook | None:
        return self.market.book(symbol)

    def densities(self, symbol: str) -> list[Density]:
        return self.market.densities(symbol)

    def events_since(self, seq: int) -> tuple[int, Sequence[AppEvent]]:
        return self.events.since(seq)

    def snapshot(self) -> EngineSnapshot:
        now = self.clock_ms()
        self._snapshot_version += 1
        last_price = self.feed.last_price
        balance = self.balance
        return EngineSnapshot(
            version=self._snapshot_version,
            status=engine_status(self, now),
            movers=mover_rows(self.movers, self.trades, self.market, self.feed),
            signals=tuple(
                pending_signal(
                    s, self.market, last_price.get(s.symbol),
                    cannot_trade(s, self.instruments.get(s.symbol), balance, self.gate.rules),
                )
                for s in self.signals.values()
            ),
            positions=tuple(trade.position for trade in self.trades.values()),
            breakeven=frozenset(s for s, trade in self.trades.items() if trade.breakeven),
        )

    @property
    def blocked_reason(self) -> str:
        """Why no entry can be made now, whatever the signal ("" when entries are possible)."""
        return self.gate.blocked_reason(self.feed.data_age(self.receive_ms()), self.venue_problem)

    @property
    def venue_problem(self) -> str:
        """What the venue reports wrong (a REST ban, a refused key, a stale stream), or ""."""
        problems = [self.venue.market.problem, self.exchange.problem]
        if self.venue.market.stale:
            problems.append("public stream stale")
        return "; ".join(p for p in problems if p)

    # ---- the public stream ----------------------------------------------------------------------

    async def _feed(self) -> None:
        feed = self.venue.market
        connections = feed.connections
        runs = feed.runs()
        simulated = self._simulated
        market_feed = self.feed
        on_frame = market_feed.on_frame
        clock = self.clock_ms
        stopped = self._stopped
        running = self.tasks.running
        async for run in runs:
            lockstep = self.lockstep
            until = self._until_ms
            for raw in run:
                if feed.connections != connections:
                    if connections:
                        self._reconnected()
                    connections = feed.connections
                on_frame(raw)
                now = clock()
                if now >= self._next_housekeeping:
                    if lockstep and not running:
                        # Nothing else is in flight: done here, as its task would be alone.
                        self._next_housekeeping = now + HOUSEKEEPING_MS
                        await self.housekeeper.run_once(now)
                    else:
                        self._schedule_housekeeping(now)
                if lockstep and (running or market_feed.account_touched):
                    touched, market_feed.account_touched = market_feed.account_touched, False
                    if running or (
                        touched and simulated is not None and simulated.pending_updates
                    ):
                        await self.tasks.settle()
                if stopped.is_set() or (until is not None and now >= until):
                    return

    def _reconnected(self) -> None:
        """The first frame of a new public connection is next: no book from before the drop may
        meet it. Each is invalid, its densities frozen, until its new snapshot."""
        self.market.reconnected(self.clock_ms())
        self.feed.reconnected()
        self._emit(
            EventKind.RECONNECTED,
            "public stream connected again: books wait for fresh snapshots", "",
        )

    # ---- the private stream ---------------------------------------------------------------------

    async def _account(self) -> None:
        updates = self.exchange.updates()
        idle = self.tasks.account_idle
        while True:
            idle.set()
            try:
                update = await anext(updates)
            except StopAsyncIteration:
                return
            idle.clear()
            try:
                await self._on_update(update)
            except JournalError as exc:
                self._store_failed(exc)

    async def _on_update(self, update: Order | Fill | Position) -> None:
        if isinstance(update, Order):
            await self.executor.record(update)
        elif isinstance(update, Fill):
            await self.journal.add_fill(update)
            self.positions.on_fill(update)
        else:
            await self.positions.on_position(update)
        if isinstance(update, Position) and self._simulated is not None:
            await self.state.save_account()

    # ---- housekeeping ---------------------------------------------------------------------------

    async def _timer(self) -> None:
        """Housekeeping when no data arrives (a stalled feed must still be noticed)."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_MS / 1000)
            self._schedule_housekeeping(self.clock_ms())

    def _schedule_housekeeping(self, now: int) -> None:
        if self._housekeeping is not None and not self._housekeeping.done():
            return
        self._next_housekeeping = now + HOUSEKEEPING_MS
        self._housekeeping = self.tasks.spawn(self.housekeeper.run_once(now))

    def _store_failed(self, exc: Exception) -> None:
        if self.gate.store_failed(exc):
            text = f"store unavailable, no new entries: {self.gate.store_error}"
            self._emit(EventKind.STORE_FAILED, text, "")
