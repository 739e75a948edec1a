"""`TradingEngine`: venue data → market engine → signals → checks → orders; the account kept safe.

One engine trades one account on one venue. It reads the venue's public frames and judges
signals on the messages that can complete them (every trade; book messages at most every
`engine.eval_interval_ms` per symbol), never on a slow poll; a judgement is skipped while price
is within reach of no density that could signal (`Reach`), since it would find nothing. In
manual mode signals are only shown; in semi mode each waits for `confirm` or `reject` until its
TTL; in auto mode it enters at once. Whatever the mode, the engine keeps every open position
under a stop-loss on the exchange, moves it to break-even, exits by the rules, reconciles with
the venue every `engine.reconcile_s`, and fires the drawdown kill switch. The UI is never
needed: it reads `snapshot()`, `book()`, `densities()` and `events_since()` and sends the
commands below.

Time: `clock_ms` is the venue's time (the simulated market's virtual clock, wall time on
Bybit); `receive_ms` is the local receive time that judges staleness (the same clock unless
given). Every journal write is awaited before the exchange is asked to act on it; a journal that
fails stops entries (the status says why) while open positions keep their stops.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog

from densitytui.engine.bounded import HANDLED_SIGNALS_KEPT, SIGNALED_DENSITIES_KEPT, RecentSet
from densitytui.engine.execution import ExecutionRules, Executor, LinkIds
from densitytui.engine.journal import Journal, JournalError
from densitytui.engine.positions import OpenTrade
from densitytui.engine.reconcile import (
    Adopt,
    ClosedOutside,
    Protect,
    QtyChanged,
    StopChanged,
    reconcile_positions,
)
from densitytui.engine.safety import DAY_MS, Safety, SafetyRules
from densitytui.engine.state import (
    EngineSnapshot,
    EngineStatus,
    FeedState,
    MoverRow,
    PendingSignal,
)
from densitytui.market.decode import (
    BookMessage,
    DecodeError,
    TickerMessage,
    TradeMessage,
    decode_frame,
)
from densitytui.market.engine import MarketEngine
from densitytui.market.movers import Movers, diff_movers, select_movers
from densitytui.model import (
    AppEvent,
    Balance,
    CheckOutcome,
    Decision,
    Density,
    DensityEvent,
    Fill,
    Instrument,
    MarginMode,
    Order,
    OrderRequest,
    OrderType,
    Position,
    Side,
    Signal,
    SignalKind,
    Trade,
    TradingMode,
    Trend,
)
from densitytui.strategy.checks import EntryContext, RiskRules, failed, run_checks, size_entry
from densitytui.strategy.exits import ExitRules, breakeven_stop, exit_decision, reanchored_stop
from densitytui.strategy.grid import ceil_to_step, floor_to_step
from densitytui.strategy.signals import Reach, SignalRules, find_signals, signal_still_valid
from densitytui.venues.base import ExchangeError, Venue

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.market.book import OrderBook

log = structlog.get_logger("densitytui.engine")

EVENT_LOG_SIZE = 1000
SPARKLINE_POINTS = 40
HOUSEKEEPING_MS = 1000
STATE_SAFETY = "safety:{venue}"
STATE_PAPER = "paper_account:{venue}"
STATE_LEVERAGE = "leverage:{venue}:{symbol}"
ALERT_KINDS = frozenset({
    "stop_loss_failed", "close_all_alert", "kill_switch", "store_failed", "unprotected",
    "order_not_placed", "margin_mode",
})


class EngineStartError(Exception):
    """The engine cannot start safely; the message says why."""


@runtime_checkable
class TradeSink(Protocol):
    """A paper account fed by the public stream: trades trigger its stops, marks its
    liquidations. Bybit accounts need no feeding."""

    def on_trade(self, trade: Trade) -> None: ...


@runtime_checkable
class PriceSink(Protocol):
    """A paper account that takes the prices of a trade message in order, as `on_trade` of
    each, without the `Trade` objects (a replay feeds it every trade)."""

    def on_prices(self, symbol: str, prices: Sequence[float]) -> None: ...


@runtime_checkable
class FrameRuns(Protocol):
    """A feed that hands its frames out in runs, each a plain iterator (a replay): no await
    per frame."""

    def runs(self) -> AsyncIterator[Iterator[bytes]]: ...


async def _runs_of_one(frames: AsyncIterator[bytes]) -> AsyncIterator[tuple[bytes]]:
    async for frame in frames:
        yield (frame,)


@runtime_checkable
class Resyncable(Protocol):
    """A stream that heals a book by asking for a fresh snapshot (Bybit resubscribes)."""

    async def resync(self, symbols: Sequence[str]) -> None: ...


@runtime_checkable
class ReportsProblems(Protocol):
    """A venue part that can say what is wrong with it in one line (None when nothing is)."""

    @property
    def problem(self) -> str | None: ...


@runtime_checkable
class ReportsStaleness(Protocol):
    @property
    def stale(self) -> bool: ...


@runtime_checkable
class QueuedUpdates(Protocol):
    """A paper account whose updates wait in a queue until the engine takes them: a trade it
    was fed needs the engine to settle only when it queued one (a stop filled)."""

    @property
    def pending_updates(self) -> int: ...


@runtime_checkable
class MarkSink(Protocol):
    def on_mark(self, symbol: str, mark_price: float, ts: int) -> None: ...


@runtime_checkable
class StatefulAccount(Protocol):
    """A paper account whose balance and positions the engine keeps in the store."""

    def export_state(self) -> dict[str, Any]: ...

    def restore_state(self, state: dict[str, Any]) -> None: ...


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
        self.exchange = venue.exchange
        self.journal = journal
        self.clock_ms = clock_ms
        self.receive_ms = receive_ms or clock_ms
        self.lockstep = lockstep
        # What the venue's parts can do besides the interfaces, looked up once (the checks
        # against runtime protocols are too slow for every frame).
        account = venue.exchange
        self._trade_sink = account if isinstance(account, TradeSink) else None
        self._price_sink = account if isinstance(account, PriceSink) else None
        self._mark_sink = account if isinstance(account, MarkSink) else None
        self._queued = account if isinstance(account, QueuedUpdates) else None
        self._problem_reporters = [
            part for part in (venue.market, account) if isinstance(part, ReportsProblems)
        ]
        self._staleness = venue.market if isinstance(venue.market, ReportsStaleness) else None
        self.market = market or MarketEngine(config, change_24h)
        self.mode = config.app.mode
        self.paused = False
        risk = config.risk
        self.safety = Safety(SafetyRules(
            max_drawdown_pct=risk.max_drawdown_pct,
            daily_loss_limit_pct=risk.daily_loss_limit_pct,
            stop_streak_count=risk.stop_streak_count,
            stop_streak_window_ms=round(risk.stop_streak_window_min * 60_000),
            stop_streak_pause_ms=round(risk.stop_streak_pause_min * 60_000),
        ))
        engine = config.engine
        prefix = engine.link_id_prefix or f"dt{secrets.token_hex(4)}"
        self.executor = Executor(
            self.exchange, journal, LinkIds(prefix), clock_ms, self._emit, self._store_failed,
            ExecutionRules(
                order_timeout_s=engine.order_timeout_s,
                lookup_attempts=engine.order_lookup_attempts,
                lookup_interval_s=engine.order_lookup_interval_s,
                close_all_attempts=engine.close_all_attempts,
            ),
            sleep,
        )
        self.fee_rate = config.paper.taker_fee_pct / 100.0
        # A lockstep replay answers an order at once in recorded time: the engine learns its
        # fill only after the modelled order and answer latencies (`fill_known_at`).
        self._answer_after_ms = (
            config.backtest.latency_ms + config.backtest.answer_latency_ms if lockstep else 0
        )
        self.instruments: dict[str, Instrument] = {}
        self.trades: dict[str, OpenTrade] = {}
        self.signals: dict[str, Signal] = {}
        self.handled: RecentSet[str] = RecentSet(HANDLED_SIGNALS_KEPT)
        self.balance: Balance | None = None
        self.movers: Movers | None = None
        self.watched: set[str] = set()
        # Per symbol, the (kind, density id) of every signal shown: one per pair.
        self._signal_keys: dict[str, RecentSet[tuple[SignalKind, int]]] = {}
        self._rules: dict[str, tuple[SignalRules, ExitRules, RiskRules]] = {}
        self._last_price: dict[str, float] = {}
        self._prev_price: dict[str, float] = {}
        self._prices: dict[str, deque[float]] = {}
        self._last_eval: dict[str, int] = {}
        # Per symbol, the densities a signal can come from and the trend, once asked (`Reach`).
        # A trade moves price but changes no density's side, confirmation or frozen flag without
        # a density event, nor the trend (judged on the book and the 24 h change): kept until a
        # ticker message of the symbol, a reconnection or a symbol forgotten, and while the
        # tracker's `revision` is the one the reach was made at (`_reach_revisions`: checked
        # after a book message or a density event); a book message drops only its trend.
        self._reaches: dict[str, Reach] = {}
        self._reach_revisions: dict[str, int] = {}
        self._busy: set[str] = set()
        self._leverage_set: set[str] = set()
        self._margin_ok = True
        self._margin_problem = ""
        self._store_error = ""
        self._events: deque[tuple[int, AppEvent]] = deque(maxlen=EVENT_LOG_SIZE)
        self._event_seq = 0
        self._outbox: asyncio.Queue[AppEvent | None] = asyncio.Queue()
        self.listeners: list[Callable[[AppEvent], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[Any]] = []
        self._stopped = asyncio.Event()
        self._until_ms: int | None = None
        self._last_data_ms: int | None = None
        self._next_housekeeping = 0
        self._next_reconcile = 0
        self._next_movers = 0
        self._housekeeping: asyncio.Task[None] | None = None
        self._snapshot_version = 0
        self._account_idle = asyncio.Event()
        # A journal thrown away after the run, read back for its trades only (a backtest's):
        # no density history and no state for a restart (safety, paper account) go to it.
        self._scratch_journal = scratch_journal
        # Density lifecycle steps waiting to be stored (in batches, by the housekeeping).
        self._density_events: list[DensityEvent] = []
        self._next_prune = 0
        # A trade reached a paper account holding a position there (a stop may have fired; an
        # account that says how many updates it queued tells whether one did).
        self._account_touched = False

    # ---- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore the account's state, reconcile with the venue, pick movers and subscribe."""
        now = self.clock_ms()
        self._loops.append(asyncio.create_task(self._write_events(), name="engine events"))
        self.safety.restore(await self.journal.get_state(self._key(STATE_SAFETY)))
        if self.safety.killed_at is not None and self.mode is not TradingMode.MANUAL:
            self.mode = TradingMode.MANUAL
            self._emit("mode", "the kill switch fired before the restart: manual mode", "")
        account = self.exchange
        if isinstance(account, StatefulAccount):
            stored = await self.journal.get_state(self._key(STATE_PAPER))
            if isinstance(stored, dict):
                try:
                    account.restore_state(stored)
                except ValueError as exc:
                    raise EngineStartError(
                        f"the stored paper account of {self.exchange.name} cannot be restored "
                        f"({exc}); refusing to start on a fresh one"
                    ) from None
                self._emit("account", "paper account restored from the store", "")
        for instrument in await self.venue.market.instruments():
            if instrument.tradable:
                self.instruments[instrument.symbol] = instrument
                self.market.set_instrument(instrument)
                self._reaches.pop(instrument.symbol, None)
        await self._check_margin_mode()
        for position in await self.journal.open_positions(self.exchange.name):
            signal = await self.journal.signal(position.signal_id) if position.signal_id else None
            # Density ids belong to the tracker of one process: a resumed bounce looks for its
            # wall again by side and price (`_find_wall`); a breakout's exits need no density.
            trade = OpenTrade(position, kind=signal.kind if signal else None)
            if signal is not None and signal.kind is SignalKind.BOUNCE:
                trade.wall = (signal.density_side, signal.density_price)
            self.trades[position.symbol] = trade
        await self._reconcile(now)
        self.balance = await self.exchange.balance()
        await self._refresh_movers()
        self._loops.append(asyncio.create_task(self._feed(), name="engine feed"))
        self._loops.append(asyncio.create_task(self._account(), name="engine account"))
        if not self.lockstep:
            self._loops.append(asyncio.create_task(self._timer(), name="engine timer"))
        self._emit(
            "started",
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
        self.paused = True
        self._emit("stopped", f"engine stopped; {len(self.trades)} position(s) stay protected", "")
        tasks = [t for t in (*self._tasks, *self._loops) if t.get_name() != "engine events"]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._store_market_history(self.clock_ms())
        except JournalError as exc:
            self._store_failed(exc)
        await self._save_state()
        self._outbox.put_nowait(None)
        await asyncio.gather(*self._loops, return_exceptions=True)

    # ---- commands (EngineControl) ---------------------------------------------------------------

    async def confirm(self, signal_id: str) -> None:
        started = time.perf_counter()
        signal = self.signals.get(signal_id)
        if signal is None:
            self._emit("refused", f"signal {signal_id} is no longer pending", "")
            return
        if self.mode is TradingMode.MANUAL:
            self._emit("refused", "manual mode: signals are shown, never executed", signal.symbol)
            return
        await self._enter(signal, "confirm", started)

    async def reject(self, signal_id: str) -> None:
        signal = self.signals.pop(signal_id, None)
        if signal is None:
            return
        self.handled.add(signal_id)
        await self._decide(signal, "rejected")
        self._emit("rejected", f"{signal.symbol} {signal.kind.value} rejected", signal.symbol)

    async def close_position(self, symbol: str) -> None:
        trade = self.trades.get(symbol)
        if trade is None:
            self._emit("refused", f"no open position on {symbol}", symbol)
            return
        await self._close(trade, "manual")

    async def close_all(self) -> None:
        """Cancel, close everything concurrently, verify flat; then manual mode."""
        self.mode = TradingMode.MANUAL
        self._emit("close_all", f"close all: {len(self.trades)} position(s)", "")
        for trade in self.trades.values():
            trade.closing = trade.closing or "close_all"
        flat, closes = await self.executor.close_all()
        for symbol, answer in closes.items():
            trade = self.trades.get(symbol)
            if trade is not None:
                await self._finish(trade, answer.avg_price, trade.closing, answer.fee)
        try:
            await self._reconcile(self.clock_ms())
        except JournalError as exc:
            self._store_failed(exc)
        self._emit(
            "close_all_done" if flat else "close_all_alert",
            "flat: no position, no order" if flat else "NOT FLAT after close all",
            "",
        )

    async def set_mode(self, mode: TradingMode) -> None:
        """Switch mode. Leaving manual after the kill switch fired is the trader's
        acknowledgment: the equity peak starts again from the equity now."""
        if mode is not TradingMode.MANUAL and self.safety.killed_at is not None:
            self.safety.killed_at = None
            self.balance = await self.exchange.balance()
            equity = self.balance.equity
            self.safety.equity_peak = equity
            self._emit("kill_switch_reset", f"kill switch reset: equity peak now {equity:.2f}", "")
            await self._save_state()
        self.mode = mode
        self._emit("mode", f"mode {mode.value}", "")

    async def pause_entries(self, paused: bool) -> None:
        self.paused = paused
        text = "entries paused" if paused else "entries on"
        self._emit("paused" if paused else "resumed", text, "")

    # ---- queries (EngineControl) ----------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook | None:
        return self.market.book(symbol)

    def densities(self, symbol: str) -> list[Density]:
        return self.market.densities(symbol)

    def events_since(self, seq: int) -> tuple[int, Sequence[AppEvent]]:
        newer = [event for n, event in self._events if n > seq]
        return self._event_seq, newer

    def snapshot(self) -> EngineSnapshot:
        now = self.clock_ms()
        self._snapshot_version += 1
        return EngineSnapshot(
            version=self._snapshot_version,
            status=self._status(now),
            movers=self._mover_rows(),
            signals=tuple(self._pending(signal, now) for signal in self.signals.values()),
            positions=tuple(trade.position for trade in self.trades.values()),
            breakeven=frozenset(s for s, trade in self.trades.items() if trade.breakeven),
        )

    @property
    def blocked_reason(self) -> str:
        """Why no entry can be made now, whatever the signal ("" when entries are possible)."""
        if self._store_error:
            return f"store unavailable: {self._store_error}"
        if not self._margin_ok:
            return self._margin_problem
        if self.safety.killed_at is not None:
            return "kill switch: drawdown limit hit"
        if self.paused:
            return "entries paused"
        if self._data_age(self.receive_ms()) > self.config.risk.stale_data_s * 1000:
            return "market data stale"
        return self.venue_problem

    @property
    def venue_problem(self) -> str:
        """What the venue reports wrong (a REST ban, a refused key, a stale stream), or ""."""
        problems = [part.problem for part in self._problem_reporters if part.problem]
        if self._staleness is not None and self._staleness.stale:
            problems.append("public stream stale")
        return "; ".join(p for p in problems if p)

    # ---- the public stream ----------------------------------------------------------------------

    async def _feed(self) -> None:
        feed = self.venue.market
        connections = feed.connections
        runs = feed.runs() if isinstance(feed, FrameRuns) else _runs_of_one(feed.messages())
        on_frame = self.on_frame
        clock = self.clock_ms
        stopped = self._stopped
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
                    if lockstep and not self._tasks:
                        # Nothing else is in flight: done here, as its task would be alone.
                        self._next_housekeeping = now + HOUSEKEEPING_MS
                        await self._housekeep(now)
                    else:
                        self._schedule_housekeeping(now)
                if lockstep and (self._tasks or self._account_touched):
                    touched, self._account_touched = self._account_touched, False
                    if self._tasks or (
                        touched and (self._queued is None or self._queued.pending_updates)
                    ):
                        await self._settle()
                if stopped.is_set() or (until is not None and now >= until):
                    return

    def _reconnected(self) -> None:
        """The first frame of a new public connection is next: no book from before the drop may
        meet it. Each is invalid, its densities frozen, until its new snapshot."""
        self.market.reconnected(self.clock_ms())
        self._reaches.clear()
        self._emit(
            "reconnected", "public stream connected again: books wait for fresh snapshots", "",
        )

    async def _settle(self) -> None:
        """Lockstep (simulated market, replays): let every order, exit and account update the
        last frame caused finish before the next frame, so a run depends on its input alone."""
        while True:
            pending = [task for task in self._tasks if not task.done()]
            if pending:
                await asyncio.wait(pending)
                continue
            await asyncio.sleep(0)
            if not self._account_idle.is_set():
                await self._account_idle.wait()
                continue
            if all(task.done() for task in self._tasks):
                return

    def on_frame(self, raw: bytes) -> None:
        """One public frame: market state, paper fills, then signals and exits it can trigger."""
        started = time.perf_counter()
        try:
            message = decode_frame(raw)
        except DecodeError as exc:
            self.market.stats.malformed[exc.kind] += 1
            return
        events = self.market.on_message(message)
        if events and not self._scratch_journal:
            self._density_events.extend(events)
        kind = type(message)
        if kind is TradeMessage:
            self._last_data_ms = self.receive_ms()
            if events:
                self._check_reach(message.symbol, False)
            self._on_trades(message, started)
        elif kind is BookMessage:
            self._last_data_ms = self.receive_ms()
            symbol = message.symbol
            self._check_reach(symbol, True)
            if symbol in self._last_price:
                now = message.ts
                if now - self._last_eval.get(symbol, 0) >= self.config.engine.eval_interval_ms:
                    last = self._last_price[symbol]
                    self._evaluate(
                        symbol, now, started, last, self._prev_price.get(symbol, last),
                    )
        elif kind is TickerMessage:
            self._reaches.pop(message.symbol, None)
            mark = message.fields.get("mark_price")
            if mark and self._mark_sink is not None:
                self._mark_sink.on_mark(message.symbol, mark, message.ts)
                if message.symbol in self.trades:
                    self._account_touched = True

    def _check_reach(self, symbol: str, book_moved: bool) -> None:
        """Keep `symbol`'s reach while its densities stand (the tracker's revision), without
        its trend when the book moved."""
        reach = self._reaches.get(symbol)
        if reach is None:
            return
        tracker = self.market.tracker(symbol)
        if tracker is None or tracker.revision != self._reach_revisions[symbol]:
            del self._reaches[symbol]
        elif book_moved:
            reach.trend = None

    def _on_trades(self, message: TradeMessage, started: float) -> None:
        symbol = message.symbol
        if self._price_sink is not None:
            items = message.items
            # Most frames carry one trade: a tuple is cheaper to make than a list.
            prices = (items[0].price,) if len(items) == 1 else [item.price for item in items]
            self._price_sink.on_prices(symbol, prices)
            if symbol in self.trades:
                self._account_touched = True
        elif self._trade_sink is not None:
            for trade in message.trades:
                self._trade_sink.on_trade(trade)
            if symbol in self.trades:
                self._account_touched = True
        prints = message.prints
        if not prints:
            return
        last = prints[-1].price
        prev = self._last_price.get(symbol, prints[0].price)
        self._prev_price[symbol] = prev
        self._last_price[symbol] = last
        prices = self._prices.get(symbol)
        if prices is None:
            prices = self._prices[symbol] = deque(maxlen=SPARKLINE_POINTS)
        prices.append(last)
        now = message.ts
        self._evaluate(symbol, now, started, last, prev)
        trade = self.trades.get(symbol)
        if (
            trade is not None and not trade.closing
            and now - trade.last_exit_check >= self.config.engine.exit_check_ms
        ):
            trade.last_exit_check = now
            self._check_exits(trade, now, last)

    def _evaluate(
        self, symbol: str, now: int, started: float, last: float, prev: float,
    ) -> None:
        """Judge `symbol` now: skipped when price is within reach of no density that could
        signal (`Reach`: the look would find nothing and ask the tape nothing)."""
        self._last_eval[symbol] = now
        reach = self._reaches.get(symbol)
        if reach is None:
            reach = self._reaches[symbol] = self._reach_of(symbol)
        trend = reach.trend
        if trend is None:
            # The trend is judged only once a density of either side is within reach.
            ask, bid = reach.near(last, prev)
            if not (ask or bid):
                return
            trend = reach.trend = self.market.trend(symbol)
            if not ((ask and trend is Trend.UP) or (bid and trend is Trend.DOWN)):
                return
        elif not reach.near_on(trend, last, prev):
            return
        self._find_signals(symbol, now, trend, reach.of(trend), last, prev, started)

    def _reach_of(self, symbol: str) -> Reach:
        tracker = self.market.tracker(symbol)
        self._reach_revisions[symbol] = tracker.revision if tracker else -1
        return Reach(tracker.densities() if tracker else [], self._rules_of(symbol)[0])

    def _find_signals(
        self, symbol: str, now: int, trend: Trend, densities: list[Density], last: float,
        prev: float, started: float,
    ) -> None:
        """Find signals on `symbol` among `densities` (those of the trend's side that can
        signal); new ones are shown, and entered at once in auto mode."""
        instrument = self.instruments.get(symbol)
        tape = self.market.tape(symbol)
        assert tape is not None
        known = self._signal_keys.get(symbol)
        if known is None:
            known = self._signal_keys[symbol] = RecentSet(SIGNALED_DENSITIES_KEPT)
        found = find_signals(
            symbol, now, trend, last, prev, densities, tape,
            instrument.tick_size if instrument else 0.0, self._rules_of(symbol)[0],
            book_valid=self.market.book_valid(symbol),
            change_24h_pct=self.market.change_24h(symbol), known=known,
        )
        for signal in found:
            known.add((signal.kind, signal.density_id))
            self._on_signal(signal, started)

    def _on_signal(self, signal: Signal, started: float) -> None:
        """A new signal: shown, entered at once in auto mode, or the end of the bounce whose
        wall it breaks."""
        symbol = signal.symbol
        self.signals[signal.id] = signal
        # Logged once the entry below has left (writing a log line costs ~0.2 ms).
        asyncio.get_running_loop().call_soon(
            self._emit,
            "signal",
            f"{signal.kind.value} {signal.side.value} {symbol} @ {signal.entry_price:g} "
            f"stop {signal.stop_loss:g}: " + "; ".join(signal.reasons),
            symbol,
        )
        trade = self.trades.get(symbol)
        if (
            trade is not None and trade.kind is SignalKind.BOUNCE
            and signal.kind is SignalKind.BREAKOUT and signal.density_id == trade.density_id
        ):
            self._spawn(self._bounce_broken(trade, signal, started))
        elif self.mode is TradingMode.AUTO:
            self._spawn(self._enter(signal, "auto", started))
        else:
            self._spawn(self._save_signal(signal))

    # ---- entries --------------------------------------------------------------------------------

    async def _enter(self, signal: Signal, trigger: str, started: float) -> None:
        """Checks, then a market order with the stop-loss attached, then the position verified."""
        symbol = signal.symbol
        if symbol in self._busy:
            await self._decide(signal, "refused", checks=(
                CheckOutcome("no_order_in_flight", False, f"an order on {symbol} is in flight"),
            ))
            return
        self._busy.add(symbol)
        try:
            self.signals.pop(signal.id, None)
            now = self.clock_ms()
            instrument = self.instruments.get(symbol)
            balance = self.balance
            blocked = self.blocked_reason
            if instrument is None or balance is None or blocked:
                why = blocked or ("no instrument" if instrument is None else "no balance yet")
                self.handled.add(signal.id)
                await self._decide(signal, "refused", checks=(CheckOutcome("engine", False, why),))
                self._emit("refused", f"{symbol} {signal.kind.value}: {why}", symbol)
                return
            risk = self._rules_of(symbol)[2]
            qty, sizing = size_entry(signal, balance, instrument, risk)
            context = self._entry_context(signal, now, balance, instrument)
            results = run_checks(context, qty, risk)
            self.handled.add(signal.id)
            checks = tuple(CheckOutcome(r.name, r.passed, r.detail) for r in results)
            checks += (CheckOutcome("sizing", qty > 0, sizing),)
            refused = [f"{r.name} ({r.detail})" for r in failed(results)]
            if qty <= 0 and not refused:
                refused.append(f"sizing ({sizing})")
            if refused:
                await self._decide(signal, "refused", qty, checks)
                names = ", ".join(refused)
                self._emit("refused", f"{symbol} {signal.kind.value} refused: {names}", symbol)
                return
            if not await self._ensure_leverage(symbol):
                await self._decide(signal, "refused", qty, checks)
                return
            request = OrderRequest(
                order_link_id=self.executor.link_ids.next("e"), symbol=symbol, side=signal.side,
                qty=qty, order_type=OrderType.MARKET, stop_loss=signal.stop_loss,
            )
            accepted = Decision(signal.id, now, "accepted", qty, checks)
            answer = await self.executor.send(
                request, trigger=trigger, started=started, entry=(signal, accepted),
            )
            if answer is None or answer.filled_qty <= 0:
                return
            await self._open_trade(signal, answer)
        except JournalError as exc:
            self._store_failed(exc)
        finally:
            self._busy.discard(symbol)

    async def _open_trade(self, signal: Signal, answer: Order) -> None:
        """Store the position the entry opened and make sure its stop-loss is on the exchange."""
        symbol = signal.symbol
        venue_position = await self._venue_position(symbol)
        if venue_position is None:
            self._emit(
                "entry_gone", f"{symbol}: filled but the venue shows no position now", symbol,
            )
            return
        position = replace(
            venue_position, signal_id=signal.id, id=None, venue=self.exchange.name,
            opened_at=venue_position.opened_at or answer.updated_at,
        )
        position.id = await self.journal.open_position(position)
        trade = OpenTrade(
            position, kind=signal.kind, density_id=signal.density_id,
            entry_link_id=answer.order_link_id, entry_fee=answer.fee,
            known_at=self.clock_ms() + self._answer_after_ms,
        )
        self.trades[symbol] = trade
        await self._save_account()
        self._emit(
            "opened",
            f"{position.side.value} {position.qty:g} {symbol} @ {position.entry_price:g} "
            f"stop {position.stop_loss or 0:g} ({signal.kind.value})",
            symbol,
        )
        if not position.protected:
            await self._protect(trade, signal.stop_loss)
        else:
            await self._reanchor(trade, signal)

    async def _reanchor(self, trade: OpenTrade, signal: Signal) -> None:
        """Move the stop-loss set from the signal's price to the same distance from the fill."""
        instrument = self.instruments.get(trade.symbol)
        position = trade.position
        if instrument is None or position.stop_loss is None:
            return
        stop = reanchored_stop(
            position.side, signal.entry_price, signal.stop_loss, position.entry_price,
            instrument.tick_size, self._rules_of(trade.symbol)[0].min_stop,
        )
        if stop != position.stop_loss and await self.executor.set_stop(trade.symbol, stop):
            note = f"re-anchored to the fill {position.entry_price:g}"
            await self._record_stop(trade, stop, note)

    async def _protect(self, trade: OpenTrade, stop_loss: float) -> None:
        """A position without a stop-loss: set it now, or close at market and raise an alert."""
        symbol = trade.symbol
        self._emit(
            "unprotected", f"{symbol} has no stop-loss on the exchange: setting {stop_loss:g}",
            symbol,
        )
        if await self.executor.set_stop(symbol, stop_loss):
            await self._record_stop(trade, stop_loss, "set after entry: the venue had none")
            return
        self._emit(
            "stop_loss_failed", f"{symbol}: closing at market, no stop-loss could be set", symbol,
        )
        await self._close(trade, "stop_loss_failed")

    async def _ensure_leverage(self, symbol: str) -> bool:
        """Set the configured leverage once per symbol and account before its first order
        (remembered in the store, so a restart does not set it again)."""
        key = self._key(STATE_LEVERAGE, symbol)
        if symbol in self._leverage_set:
            return True
        leverage = self.config.risk.leverage
        if await self.journal.get_state(key) != leverage:
            try:
                await self.exchange.set_leverage(symbol, leverage)
            except ExchangeError as exc:
                self._emit("refused", f"{symbol}: leverage {leverage:g}x refused: {exc}", symbol)
                return False
            await self.journal.set_state(key, leverage, self.clock_ms())
            self._emit("leverage", f"{symbol}: leverage set to {leverage:g}x", symbol)
        self._leverage_set.add(symbol)
        return True

    async def _check_margin_mode(self) -> None:
        """Isolated margin or no trading: the mode is account-wide and never changed silently."""
        try:
            mode = await self.exchange.margin_mode()
        except ExchangeError as exc:
            self._margin_ok, self._margin_problem = False, f"margin mode unknown: {exc}"
        else:
            self._margin_ok = mode is MarginMode.ISOLATED
            self._margin_problem = (
                "" if self._margin_ok
                else f"account margin mode is {mode.value}; switch it to isolated to trade"
            )
        if not self._margin_ok:
            self._emit("margin_mode", self._margin_problem, "")

    def _entry_context(
        self, signal: Signal, now: int, balance: Balance, instrument: Instrument,
    ) -> EntryContext:
        symbol = signal.symbol
        density = self._density(symbol, signal.density_id)
        override = self.config.symbols.get(symbol)
        return EntryContext(
            signal=signal,
            now_ms=now,
            symbol_enabled=override.enabled if override else True,
            is_mover=self.movers is not None and symbol in self.movers.symbols,
            already_handled=signal.id in self.handled,
            open_positions=[trade.position for trade in self.trades.values()],
            last_price=self._last_price.get(symbol, signal.entry_price),
            density_exists=density is not None,
            balance=balance,
            day_start_equity=self.safety.day_start_equity or balance.equity,
            day_realized_pnl=self.safety.day_realized_pnl,
            recent_stop_times_ms=self.safety.recent_stops(now),
            book_valid=self.market.book_valid(symbol),
            data_age_ms=self._data_age(self.receive_ms()),
            instrument=instrument,
            fee_rate=self.fee_rate,
            entries_paused=self.paused,
            densities=self.market.densities(symbol),
        )

    # ---- exits ----------------------------------------------------------------------------------

    def _check_exits(self, trade: OpenTrade, now: int, last: float) -> None:
        if now < trade.known_at:
            return
        symbol = trade.symbol
        exit_rules = self._rules_of(symbol)[1]
        instrument = self.instruments.get(symbol)
        position = trade.position
        position.mark_price = last
        position.unrealized_pnl = (last - position.entry_price) * position.qty * position.side.sign
        if not trade.breakeven and instrument is not None:
            stop = breakeven_stop(position, last, self.fee_rate, instrument.tick_size, exit_rules)
            if stop is not None:
                trade.breakeven = True
                self._spawn(self._move_stop(trade, stop))
        if trade.kind is None or (trade.wall is not None and not self._find_wall(trade)):
            return
        tape = self.market.tape(symbol)
        assert tape is not None
        decision = exit_decision(
            position, trade.kind, trade.density_id, now, last, self.market.densities(symbol),
            tape, exit_rules,
        )
        if decision is not None and symbol not in self._busy:
            self._spawn(self._close(trade, decision.reason, decision.detail))

    def _find_wall(self, trade: OpenTrade) -> bool:
        """A bounce resumed after a restart: once its book is valid again, follow the density
        that holds its wall's price on its side; if none does, the wall went while the engine
        was away and the bounce closes as density_gone. False until its exits can be judged
        (its stop-loss and break-even hold meanwhile)."""
        assert trade.wall is not None
        symbol = trade.symbol
        if not self.market.book_valid(symbol) or symbol in self._busy:
            return False
        side, price = trade.wall
        trade.wall = None
        for density in self.market.densities(symbol):
            if density.side is side and density.price_low <= price <= density.price_high:
                trade.density_id = density.id
                self._emit(
                    "relinked", f"{symbol}: bounce follows its wall at {density.price:g} again",
                    symbol,
                )
                return True
        self._spawn(self._close(trade, "density_gone", f"no wall at {price:g} after a restart"))
        return False

    async def _bounce_broken(self, trade: OpenTrade, signal: Signal, started: float) -> None:
        """The wall a bounce leans on is breaking (a breakout fired on it): the bounce's reason
        is gone, so it closes; in auto mode the breakout is then entered like any other."""
        await self._save_signal(signal)
        await self._close(trade, "density_broken", f"breakout on its density: {signal.id}")
        if self.mode is TradingMode.AUTO and signal.symbol not in self.trades:
            await self._enter(signal, "auto_after_close", started)

    async def _move_stop(self, trade: OpenTrade, stop: float) -> None:
        symbol = trade.symbol
        if await self.executor.set_stop(symbol, stop):
            await self._record_stop(trade, stop, "break-even")
            self._emit("breakeven", f"{symbol}: stop-loss moved to break-even {stop:g}", symbol)
        else:
            trade.breakeven = False

    async def _close(self, trade: OpenTrade, reason: str, detail: str = "") -> None:
        symbol = trade.symbol
        if symbol in self._busy and reason not in {"close_all", "stop_loss_failed", "manual"}:
            return
        trade.closing = reason
        self._busy.add(symbol)
        try:
            position = trade.position
            self._emit("exit", f"{symbol}: {reason}" + (f" ({detail})" if detail else ""), symbol)
            answer = await self.executor.close(symbol, position.side, position.qty, reason)
            if answer is None or answer.filled_qty <= 0:
                trade.closing = ""
                return
            venue_position = await self._venue_position(symbol)
            if venue_position is None:
                await self._finish(trade, answer.avg_price, reason, answer.fee)
        except JournalError as exc:
            self._store_failed(exc)
        finally:
            self._busy.discard(symbol)

    async def _finish(
        self, trade: OpenTrade, fallback_price: float, reason: str, fallback_fee: float = 0.0,
    ) -> None:
        """Record a closed position with its PnL; count it for the day and the stop streak.

        The fallbacks stand for exit fills not seen on the private stream yet: the close
        order's average price and fee, or the venue's exit price."""
        if self.trades.get(trade.symbol) is not trade:
            return
        del self.trades[trade.symbol]
        now = self.clock_ms()
        exit_price, pnl, fees = trade.settle(fallback_price, fallback_fee)
        self.safety.on_closed(pnl, reason, now)
        try:
            await self.journal.close_position(
                trade.position_id, now, exit_price=exit_price, exit_reason=reason,
                realized_pnl=pnl, fees=fees,
            )
        except JournalError as exc:
            self._store_failed(exc)
        await self._save_state()
        position = trade.position
        self._emit(
            "closed",
            f"{position.side.value} {position.qty:g} {trade.symbol} closed @ {exit_price:g}: "
            f"{reason}, PnL {pnl:+.4f} USDT",
            trade.symbol,
        )

    async def _record_stop(self, trade: OpenTrade, stop: float, note: str) -> None:
        """The stop is on the exchange already: a store that fails to record it stops entries,
        not the protection."""
        trade.position.stop_loss = stop
        try:
            await self.journal.set_stop_loss(trade.position_id, stop, self.clock_ms(), note)
        except JournalError as exc:
            self._store_failed(exc)

    # ---- the private stream ---------------------------------------------------------------------

    async def _account(self) -> None:
        updates = self.exchange.updates()
        while True:
            self._account_idle.set()
            try:
                update = await anext(updates)
            except StopAsyncIteration:
                return
            self._account_idle.clear()
            try:
                await self._on_update(update)
            except JournalError as exc:
                self._store_failed(exc)

    async def _on_update(self, update: Order | Fill | Position) -> None:
        if isinstance(update, Order):
            await self.executor.record(update)
        elif isinstance(update, Fill):
            await self.journal.add_fill(update)
            trade = self.trades.get(update.symbol)
            if trade is not None:
                trade.add_exit_fill(update)
        else:
            await self._on_position(update)
        if isinstance(update, Position) and isinstance(self.exchange, StatefulAccount):
            await self._save_account()

    async def _on_position(self, position: Position) -> None:
        trade = self.trades.get(position.symbol)
        if trade is None:
            return
        if position.qty <= 0 or position.closed_at is not None:
            reason = position.exit_reason or trade.closing or self._guess_reason(trade, position)
            fallback = position.exit_price or self._last_price.get(position.symbol, 0.0)
            await self._finish(trade, fallback, reason)
            return
        if position.stop_loss != trade.position.stop_loss and position.stop_loss:
            await self._record_stop(trade, position.stop_loss, "reported by the venue")

    @staticmethod
    def _guess_reason(trade: OpenTrade, position: Position) -> str:
        """A close the engine did not send: the stop-loss if it filled at or beyond the stop."""
        stop = trade.position.stop_loss
        price = position.exit_price or position.mark_price
        if stop and price:
            long = trade.position.side is Side.BUY
            if (price <= stop * 1.001) if long else (price >= stop * 0.999):
                return "stop_loss"
        return "closed_on_exchange"

    # ---- housekeeping: balance, kill switch, signals' TTL, reconciliation, movers ---------------

    async def _timer(self) -> None:
        """Housekeeping when no data arrives (a stalled feed must still be noticed)."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_MS / 1000)
            self._schedule_housekeeping(self.clock_ms())

    def _schedule_housekeeping(self, now: int) -> None:
        if self._housekeeping is not None and not self._housekeeping.done():
            return
        self._next_housekeeping = now + HOUSEKEEPING_MS
        self._housekeeping = self._spawn(self._housekeep(now))

    async def _housekeep(self, now: int) -> None:
        try:
            await self._expire_signals(now)
            await self._refresh_balance(now)
            if now >= self._next_reconcile:
                await self._reconcile(now)
            if now >= self._next_movers:
                await self._refresh_movers()
            for symbol in self.market.take_resync_requests():
                await self._resubscribe(symbol)
            await self._store_market_history(now)
        except JournalError as exc:
            self._store_failed(exc)
        except ExchangeError as exc:
            self._emit("venue_error", f"housekeeping: {exc}", "")

    async def _store_market_history(self, now: int) -> None:
        """Density events in one batch per housekeeping round; history beyond its retention
        pruned once a day."""
        events, self._density_events = self._density_events, []
        await self.journal.add_density_events(events)
        if now >= self._next_prune:
            self._next_prune = now + DAY_MS
            await self.journal.prune(now)

    async def _expire_signals(self, now: int) -> None:
        for signal in list(self.signals.values()):
            book_valid = self.market.book_valid(signal.symbol)
            why = signal_still_valid(signal, self.market.densities(signal.symbol), book_valid, now)
            if why is not None and self.signals.pop(signal.id, None) is not None:
                self.handled.add(signal.id)
                await self._decide(signal, "dropped", checks=(CheckOutcome("valid", False, why),))

    async def _refresh_balance(self, now: int) -> None:
        self.balance = await self.exchange.balance()
        if self.safety.on_equity(self.balance.equity, now) and self.safety.killed_at is None:
            self.safety.killed_at = now
            await self._save_state()
            self._emit(
                "kill_switch",
                f"equity {self.balance.equity:.2f} is "
                f"{self.safety.drawdown_pct(self.balance.equity):.1f}% below its peak "
                f"{self.safety.equity_peak:.2f}: closing everything",
                "",
            )
            await self.close_all()

    async def _reconcile(self, now: int) -> None:
        """Positions and stop-losses as the venue has them; open orders resolved by id."""
        self._next_reconcile = now + round(self.config.engine.reconcile_s * 1000)
        try:
            venue_positions = await self.exchange.positions()
        except ExchangeError as exc:
            self._emit("reconcile_skipped", f"positions unavailable: {exc}", "")
            return
        busy = frozenset(self._busy)
        stored = [t.position for s, t in self.trades.items() if s not in busy]
        venue_positions = [p for p in venue_positions if p.symbol not in busy]
        for action in reconcile_positions(stored, venue_positions, busy):
            if isinstance(action, Adopt):
                await self._adopt(action.position)
            elif isinstance(action, ClosedOutside):
                trade = self.trades.get(action.stored.symbol)
                if trade is not None:
                    reason = trade.closing or self._guess_reason(trade, trade.position)
                    await self._finish(trade, self._last_price.get(trade.symbol, 0.0), reason)
            elif isinstance(action, Protect):
                trade = self.trades.get(action.position.symbol)
                if trade is not None:
                    await self._protect(trade, self._protective_stop(action.position))
            elif isinstance(action, StopChanged):
                trade = self.trades.get(action.stored.symbol)
                if trade is not None:
                    await self._record_stop(trade, action.venue_stop, "reconciled with the venue")
            elif isinstance(action, QtyChanged):
                trade = self.trades.get(action.stored.symbol)
                if trade is not None:
                    trade.position.qty = action.venue.qty
                    await self.journal.update_position(trade.position_id, now, qty=action.venue.qty)
        await self._resolve_orders()

    async def _adopt(self, position: Position) -> None:
        stored = replace(position, id=None, venue=self.exchange.name, signal_id="")
        stored.opened_at = stored.opened_at or self.clock_ms()
        stored.id = await self.journal.open_position(stored)
        self.trades[position.symbol] = OpenTrade(stored)
        self._emit(
            "adopted",
            f"{position.side.value} {position.qty:g} {position.symbol} found on the venue "
            f"(stop {position.stop_loss or 'none'}): now followed",
            position.symbol,
        )

    def _protective_stop(self, position: Position) -> float:
        """A stop for a position found without one: the stored stop, else `protect_stop_pct`
        beyond the mark, on the tick grid away from the price."""
        trade = self.trades.get(position.symbol)
        if trade is not None and trade.position.stop_loss:
            return trade.position.stop_loss
        pct = self.config.engine.protect_stop_pct / 100.0
        price = position.mark_price or self._last_price.get(position.symbol) or position.entry_price
        instrument = self.instruments.get(position.symbol)
        tick = instrument.tick_size if instrument else 0.0
        if position.side is Side.BUY:
            stop = price * (1 - pct)
            return floor_to_step(stop, tick) if tick else stop
        stop = price * (1 + pct)
        return ceil_to_step(stop, tick) if tick else stop

    async def _resolve_orders(self) -> None:
        for order in await self.journal.open_orders(self.exchange.name):
            if order.symbol in self._busy:
                continue
            try:
                found = await self.exchange.order_by_link_id(order.symbol, order.order_link_id)
            except ExchangeError:
                continue
            if found is not None:
                await self.executor.record(found)
            else:
                self._spawn(self.executor.resolve(order.symbol, order.order_link_id))

    async def _refresh_movers(self) -> None:
        self._next_movers = self.clock_ms() + round(self.config.movers.refresh_s * 1000)
        tickers = await self.venue.market.tickers()
        movers = select_movers(self.instruments.values(), tickers, self.config.movers)
        held = set(self.trades)
        diff = diff_movers(self.watched, movers.symbols | held, held)
        self.movers = movers
        if diff.added:
            await self.venue.market.subscribe(sorted(diff.added))
        if diff.removed:
            await self.venue.market.unsubscribe(sorted(diff.removed))
            for symbol in diff.removed:
                self.market.forget(symbol)
                self._reaches.pop(symbol, None)
        self.watched = (self.watched | diff.added) - diff.removed
        # The configured leverage is set as a symbol starts being watched, so that no entry
        # waits for it; an entry on a symbol not ready yet sets it first.
        for symbol in sorted(diff.added - self._leverage_set):
            await self._ensure_leverage(symbol)
        if diff.added or diff.removed:
            self._emit(
                "movers",
                f"watching {len(self.watched)}: +{len(diff.added)} -{len(diff.removed)}",
                "",
            )

    async def _resubscribe(self, symbol: str) -> None:
        """A gapped or crossed book heals from the stream's next snapshot, never from REST."""
        market = self.venue.market
        if isinstance(market, Resyncable):
            await market.resync([symbol])
        else:
            await market.unsubscribe([symbol])
            await market.subscribe([symbol])
        self._emit("resync", f"{symbol}: book invalid, resubscribed for a fresh snapshot", symbol)

    # ---- helpers --------------------------------------------------------------------------------

    async def _venue_position(self, symbol: str) -> Position | None:
        try:
            positions = await self.exchange.positions()
        except ExchangeError as exc:
            self._emit("venue_error", f"positions unavailable: {exc}", symbol)
            return None
        return next((p for p in positions if p.symbol == symbol and p.qty > 0), None)

    async def _save_signal(self, signal: Signal) -> bool:
        try:
            await self.journal.save_signal(signal)
        except JournalError as exc:
            self._store_failed(exc)
            return False
        return True

    async def _decide(
        self, signal: Signal, outcome: str, qty: float = 0.0,
        checks: tuple[CheckOutcome, ...] = (),
    ) -> None:
        try:
            await self.journal.save_signal(signal)
            decision = Decision(signal.id, self.clock_ms(), outcome, qty, checks)
            await self.journal.add_decision(decision)
        except JournalError as exc:
            self._store_failed(exc)

    async def _save_state(self) -> None:
        if self._scratch_journal:
            return
        try:
            await self.journal.set_state(
                self._key(STATE_SAFETY), self.safety.to_state(), self.clock_ms(),
            )
            await self._save_account()
        except JournalError as exc:
            self._store_failed(exc)

    async def _save_account(self) -> None:
        account = self.exchange
        if isinstance(account, StatefulAccount) and not self._scratch_journal:
            await self.journal.set_state(
                self._key(STATE_PAPER), account.export_state(), self.clock_ms(),
            )

    def _store_failed(self, exc: Exception) -> None:
        first = not self._store_error
        self._store_error = str(exc) or type(exc).__name__
        if first:
            text = f"store unavailable, no new entries: {self._store_error}"
            self._emit("store_failed", text, "")

    def _rules_of(self, symbol: str) -> tuple[SignalRules, ExitRules, RiskRules]:
        rules = self._rules.get(symbol)
        if rules is None:
            strategy = self.config.strategy(symbol)
            rules = self._rules[symbol] = (
                SignalRules.from_config(strategy),
                ExitRules.from_config(strategy, self.fee_rate),
                RiskRules.from_config(self.config, symbol),
            )
        return rules

    def _density(self, symbol: str, density_id: int) -> Density | None:
        return next((d for d in self.market.densities(symbol) if d.id == density_id), None)

    def _data_age(self, now: int) -> int:
        return 0 if self._last_data_ms is None else max(0, now - self._last_data_ms)

    def _key(self, template: str, symbol: str = "") -> str:
        return template.format(venue=self.exchange.name, symbol=symbol)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("engine task failed", error=repr(exc))
            self._emit("engine_error", f"internal error: {exc!r}", "")

    def _emit(self, kind: str, message: str, symbol: str) -> None:
        level = "alert" if kind in ALERT_KINDS else "info"
        event = AppEvent(self.clock_ms(), kind, message, symbol, {"level": level})
        self._event_seq += 1
        self._events.append((self._event_seq, event))
        self._outbox.put_nowait(event)
        for listener in self.listeners:
            listener(event)
        (log.warning if level == "alert" else log.info)(message, kind=kind, symbol=symbol)

    async def _write_events(self) -> None:
        """Write the event log in batches: whatever queued up while the last batch was written."""
        done = False
        while not done:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            done = batch[-1] is None
            events = [event for event in batch if event is not None]
            try:
                await self.journal.append_events(events)
            except JournalError as exc:
                self._store_failed(exc)

    # ---- snapshot parts -------------------------------------------------------------------------

    def _status(self, now: int) -> EngineStatus:
        balance = self.balance
        age = self._data_age(self.receive_ms())
        stale = age > self.config.risk.stale_data_s * 1000
        if self._stopped.is_set():
            feed = FeedState.STOPPED
        elif self._last_data_ms is None:
            feed = FeedState.CONNECTING
        else:
            feed = FeedState.STALE if stale or "stale" in self.venue_problem else FeedState.LIVE
        exposure = sum(
            t.position.qty * (t.position.mark_price or t.position.entry_price)
            for t in self.trades.values()
        )
        day_pnl = self.safety.day_realized_pnl + sum(
            t.position.unrealized_pnl for t in self.trades.values()
        )
        return EngineStatus(
            now_ms=now,
            venue=self.venue.name,
            mode=self.mode,
            entries_paused=self.paused,
            blocked_reason=self.blocked_reason,
            feed=feed,
            data_age_ms=age,
            latency_ms=self.executor.last_round_trip_ms,
            equity=balance.equity if balance else 0.0,
            available=balance.available if balance else 0.0,
            exposure_usdt=exposure,
            day_pnl=day_pnl,
            store_ok=not self._store_error,
            store_error=self._store_error,
        )

    def _mover_rows(self) -> tuple[MoverRow, ...]:
        movers = self.movers
        if movers is None:
            return ()
        ordered = [t.symbol for t in (*movers.gainers, *movers.losers)]
        ordered += sorted(s for s in self.trades if s not in ordered)
        rows = []
        for rank, symbol in enumerate(ordered, start=1):
            ticker = self.market.ticker(symbol)
            prices = self._prices.get(symbol)
            last = self._last_price.get(symbol) or (ticker.last_price if ticker else 0.0)
            rows.append(MoverRow(
                rank=rank,
                symbol=symbol,
                last_price=last,
                change_24h_pct=self.market.change_24h(symbol) or 0.0,
                turnover_24h=ticker.turnover_24h if ticker else 0.0,
                trend=self.market.trend(symbol),
                densities=len(self.market.densities(symbol)),
                book_valid=self.market.book_valid(symbol),
                prices=tuple(prices) if prices else (),
                has_position=symbol in self.trades,
            ))
        return tuple(rows)

    def _pending(self, signal: Signal, now: int) -> PendingSignal:
        density = self._density(signal.symbol, signal.density_id)
        last = self._last_price.get(signal.symbol, signal.entry_price)
        return PendingSignal(
            signal=signal,
            expires_at=signal.created_at + signal.ttl_ms,
            density_notional=density.notional if density else 0.0,
            density_erosion=density.erosion if density else 0.0,
            distance_pct=abs(signal.entry_price - last) / last * 100 if last else 0.0,
        )
