"""Signals from the feed to decisions: shown, confirmed or rejected, judged, entered.

A new signal is kept pending (semi and manual modes) or entered at once (auto). An entry is
judged by the `RiskGate` (every check named with its numbers), stored with its decision in
the same durable write as its order row, sent as a market order with the stop-loss attached,
and handed to the `PositionBook` once filled. Every signal ends with a stored decision:
accepted, refused, rejected or dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from densitytui.engine.bounded import HANDLED_SIGNALS_KEPT, RecentSet
from densitytui.engine.events import Emit, EventKind
from densitytui.engine.journal import Journal, JournalError
from densitytui.model import (
    Balance,
    CheckOutcome,
    Decision,
    Instrument,
    OrderRequest,
    OrderType,
    Signal,
    SignalKind,
    TradingMode,
)
from densitytui.strategy.checks import EntryContext
from densitytui.strategy.signals import signal_still_valid
from densitytui.venues.base import ExchangeError

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.engine.execution import Executor
    from densitytui.engine.positions import OpenTrade, PositionBook
    from densitytui.engine.risk import RiskGate
    from densitytui.market.engine import MarketEngine
    from densitytui.market.movers import Movers
    from densitytui.strategy.checks import RiskRules
    from densitytui.strategy.exits import ExitRules
    from densitytui.strategy.signals import SignalRules

STATE_LEVERAGE = "leverage:{venue}:{symbol}"


class EntryDesk:
    """The pending signals and what became of each (see the module doc)."""

    def __init__(
        self,
        config: Config,
        gate: RiskGate,
        executor: Executor,
        positions: PositionBook,
        market: MarketEngine,
        journal: Journal,
        emit: Emit,
        *,
        clock_ms: Callable[[], int],
        instruments: dict[str, Instrument],
        last_price: dict[str, float],
        rules_of: Callable[[str], tuple[SignalRules, ExitRules, RiskRules]],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        store_failed: Callable[[Exception], None],
        mode: Callable[[], TradingMode],
        balance: Callable[[], Balance | None],
        movers: Callable[[], Movers | None],
        book_age_ms: Callable[[str], int],
        venue_problem: Callable[[], str],
    ) -> None:
        self.config = config
        self.gate = gate
        self.executor = executor
        self.positions = positions
        self.market = market
        self.journal = journal
        self.emit = emit
        self.clock_ms = clock_ms
        self.instruments = instruments
        self.last_price = last_price
        self.rules_of = rules_of
        self.spawn = spawn
        self.store_failed = store_failed
        self.mode = mode
        self.balance = balance
        self.movers = movers
        self.book_age_ms = book_age_ms
        self.venue_problem = venue_problem
        self.fee_rate = config.paper.taker_fee_pct / 100.0
        self.signals: dict[str, Signal] = {}
        self.handled: RecentSet[str] = RecentSet(HANDLED_SIGNALS_KEPT)
        self.leverage_set: set[str] = set()

    # ---- signals in

    def on_signal(self, signal: Signal, started: float) -> None:
        """A new signal: shown, entered at once in auto mode, or the end of the bounce whose
        wall it breaks."""
        symbol = signal.symbol
        self.signals[signal.id] = signal
        # Logged once the entry below has left (writing a log line costs ~0.2 ms).
        asyncio.get_running_loop().call_soon(
            self.emit,
            EventKind.SIGNAL,
            f"{signal.kind.value} {signal.side.value} {symbol} @ {signal.entry_price:g} "
            f"stop {signal.stop_loss:g}: " + "; ".join(signal.reasons),
            symbol,
        )
        trade = self.positions.trades.get(symbol)
        if (
            trade is not None and trade.kind is SignalKind.BOUNCE
            and signal.kind is SignalKind.BREAKOUT and signal.density_id == trade.density_id
        ):
            if signal.created_at < trade.known_at:
                # The bounce's fill is not known yet (a lockstep replay's answer latency): no
                # exit before it; the bounce's own exits judge its wall once it is.
                self.spawn(self.save_signal(signal))
            else:
                self.spawn(self._bounce_broken(trade, signal, started))
        elif self.mode() is TradingMode.AUTO:
            self.spawn(self.enter(signal, "auto", started))
        else:
            self.spawn(self.save_signal(signal))

    async def _bounce_broken(self, trade: OpenTrade, signal: Signal, started: float) -> None:
        """The wall a bounce leans on is breaking (a breakout fired on it): the bounce's reason
        is gone, so it closes; in auto mode the breakout is then entered like any other."""
        await self.save_signal(signal)
        await self.positions.close(trade, "density_broken", f"breakout on its density: {signal.id}")
        if self.mode() is TradingMode.AUTO and signal.symbol not in self.positions.trades:
            await self.enter(signal, "auto_after_close", started)

    async def reject(self, signal_id: str) -> None:
        signal = self.signals.pop(signal_id, None)
        if signal is None:
            return
        self.handled.add(signal_id)
        await self.decide(signal, "rejected")
        symbol = signal.symbol
        self.emit(EventKind.REJECTED, f"{symbol} {signal.kind.value} rejected", symbol)

    async def expire(self, now: int) -> None:
        """Drop the pending signals past their TTL, or whose density or book went."""
        for signal in list(self.signals.values()):
            book_valid = self.market.book_valid(signal.symbol)
            why = signal_still_valid(signal, self.market.densities(signal.symbol), book_valid, now)
            if why is not None and self.signals.pop(signal.id, None) is not None:
                self.handled.add(signal.id)
                await self.decide(signal, "dropped", checks=(CheckOutcome("valid", False, why),))

    # ---- entries

    async def enter(self, signal: Signal, trigger: str, started: float) -> None:
        """Checks, then a market order with the stop-loss attached, then the position verified."""
        symbol = signal.symbol
        busy = self.positions.busy
        if symbol in busy:
            await self.decide(signal, "refused", checks=(
                CheckOutcome("no_order_in_flight", False, f"an order on {symbol} is in flight"),
            ))
            return
        busy.add(symbol)
        try:
            self.signals.pop(signal.id, None)
            now = self.clock_ms()
            verdict = self.gate.decide(
                signal, self.instruments.get(symbol), self.balance(), self.rules_of(symbol)[2],
                lambda instrument, balance: self._context(signal, now, balance, instrument),
                self.venue_problem(),
            )
            self.handled.add(signal.id)
            qty, checks = verdict.qty, verdict.checks
            if verdict.refused:
                await self.decide(signal, "refused", qty, checks)
                names = ", ".join(verdict.refused)
                self.emit(
                    EventKind.REFUSED, f"{symbol} {signal.kind.value} refused: {names}", symbol,
                )
                return
            if not await self.ensure_leverage(symbol):
                await self.decide(signal, "refused", qty, checks)
                return
            request = OrderRequest(
                order_link_id=self.executor.link_ids.next("e"), symbol=symbol, side=signal.side,
                qty=qty, order_type=OrderType.MARKET, stop_loss=signal.stop_loss,
            )
            accepted = Decision(signal.id, now, "accepted", qty, checks)
            answer = await self.executor.send(
                request, trigger=trigger, started=started, entry=(signal, accepted),
                guard=self._paused_meanwhile,
            )
            if answer is None:
                if self.gate.paused:
                    await self._refused_at_send(signal, qty)
                return
            if answer.filled_qty <= 0:
                return
            await self.positions.open(signal, answer)
        except JournalError as exc:
            self.store_failed(exc)
        finally:
            busy.discard(symbol)

    def _paused_meanwhile(self) -> str:
        """Asked just before an entry leaves: a pause acknowledged since its checks stops it."""
        return "entries paused by the trader" if self.gate.paused else ""

    async def _refused_at_send(self, signal: Signal, qty: float) -> None:
        check = CheckOutcome(
            "entries_not_paused", False,
            "entries paused by the trader after the checks, before the order left: not sent",
        )
        await self.decide(signal, "refused", qty, (check,))
        self.emit(
            EventKind.REFUSED,
            f"{signal.symbol} {signal.kind.value} refused: {check.name} ({check.detail})",
            signal.symbol,
        )

    async def ensure_leverage(self, symbol: str) -> bool:
        """Set the configured leverage once per symbol and account before its first order
        (remembered in the store, so a restart does not set it again)."""
        if symbol in self.leverage_set:
            return True
        key = STATE_LEVERAGE.format(venue=self.executor.exchange.name, symbol=symbol)
        leverage = self.config.risk.leverage
        if await self.journal.get_state(key) != leverage:
            try:
                await self.executor.exchange.set_leverage(symbol, leverage)
            except ExchangeError as exc:
                self.emit(
                    EventKind.REFUSED, f"{symbol}: leverage {leverage:g}x refused: {exc}", symbol,
                )
                return False
            await self.journal.set_state(key, leverage, self.clock_ms())
            self.emit(EventKind.LEVERAGE, f"{symbol}: leverage set to {leverage:g}x", symbol)
        self.leverage_set.add(symbol)
        return True

    def _context(
        self, signal: Signal, now: int, balance: Balance, instrument: Instrument,
    ) -> EntryContext:
        symbol = signal.symbol
        override = self.config.symbols.get(symbol)
        movers = self.movers()
        safety = self.gate.safety
        densities = self.market.densities(symbol)
        return EntryContext(
            signal=signal,
            now_ms=now,
            symbol_enabled=override.enabled if override else True,
            is_mover=movers is not None and symbol in movers.symbols,
            already_handled=signal.id in self.handled,
            open_positions=[trade.position for trade in self.positions.trades.values()],
            last_price=self.last_price.get(symbol, signal.entry_price),
            density_exists=any(d.id == signal.density_id for d in densities),
            balance=balance,
            day_start_equity=safety.day_start_equity or balance.equity,
            day_realized_pnl=safety.day_realized_pnl,
            day_unrealized_pnl=balance.unrealized_pnl,
            day_loss_hit=safety.loss_limit_hit(now),
            last_close_ms=safety.last_close_ms.get(symbol),
            recent_stop_times_ms=safety.recent_stops(now),
            book_valid=self.market.book_valid(symbol),
            data_age_ms=self.book_age_ms(symbol),
            instrument=instrument,
            fee_rate=self.fee_rate,
            entries_paused=self.gate.paused,
            densities=densities,
        )

    # ---- the store

    async def save_signal(self, signal: Signal) -> bool:
        try:
            await self.journal.save_signal(signal)
        except JournalError as exc:
            self.store_failed(exc)
            return False
        return True

    async def decide(
        self, signal: Signal, outcome: str, qty: float = 0.0,
        checks: tuple[CheckOutcome, ...] = (),
    ) -> None:
        try:
            await self.journal.save_signal(signal)
            decision = Decision(signal.id, self.clock_ms(), outcome, qty, checks)
            await self.journal.add_decision(decision)
        except JournalError as exc:
            self.store_failed(exc)
