"""Open trades as the engine follows them (`PositionBook`): the stored position, what opened
it, how it closes.

A trade is the stored position plus what the exits need (the signal kind and the density
behind it) and the accounting of its close: exit fills arrive from the venue's private stream
(or the close order's answer) and are summed here, so the realized PnL stored with the closed
position is computed from prices and fees the venue reported, on both legs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from densitytui.engine.events import Emit, EventKind
from densitytui.engine.journal import Journal, JournalError
from densitytui.engine.reconcile import (
    Adopt,
    ClosedOutside,
    Protect,
    QtyChanged,
    StopChanged,
    reconcile_positions,
)
from densitytui.model import BookSide, Fill, Instrument, Order, Position, Side, Signal, SignalKind
from densitytui.strategy.exits import breakeven_stop, exit_decision, reanchored_stop
from densitytui.strategy.grid import ceil_to_step, floor_to_step
from densitytui.venues.base import ExchangeError

if TYPE_CHECKING:
    from densitytui.engine.execution import Executor
    from densitytui.market.engine import MarketEngine
    from densitytui.strategy.checks import RiskRules
    from densitytui.strategy.exits import ExitRules
    from densitytui.strategy.signals import SignalRules

# Closes that go out even while another order on the symbol is in flight.
FORCED_CLOSES = frozenset({"close_all", "stop_loss_failed", "manual"})


@dataclass(slots=True)
class OpenTrade:
    """One open position under the engine's care."""

    position: Position
    # None for a position adopted from the venue: only the stop-loss guards it, no exit rules.
    kind: SignalKind | None = None
    density_id: int = 0
    # The wall of a bounce resumed after a restart, by side and price: density ids belong to
    # one process's tracker, so the wall is found again in the new one (None otherwise).
    wall: tuple[BookSide, float] | None = None
    entry_link_id: str = ""
    entry_fee: float = 0.0
    # The reason of a close the engine has sent ("" while none is in flight).
    closing: str = ""
    breakeven: bool = False
    exit_qty: float = 0.0
    exit_value: float = 0.0
    exit_fees: float = 0.0
    # Message time of the last exit evaluation (exits are judged at most every few ms).
    last_exit_check: int = 0
    # Clock time from which the engine knows the entry's fill: no exit is judged before it.
    known_at: int = 0
    # The signal's (entry price, stop) while the stop waits to be re-anchored to the fill:
    # the engine cannot move it before it knows the fill (`known_at`).
    reanchor_from: tuple[float, float] | None = None

    @property
    def symbol(self) -> str:
        return self.position.symbol

    @property
    def position_id(self) -> int:
        assert self.position.id is not None
        return self.position.id

    def add_exit_fill(self, fill: Fill) -> bool:
        """Count a fill that reduces the position; False for a fill of the entry or other side."""
        if fill.side is self.position.side or fill.order_link_id == self.entry_link_id:
            return False
        self.exit_qty += fill.qty
        self.exit_value += fill.price * fill.qty
        self.exit_fees += fill.fee
        return True

    def settle(
        self, fallback_exit_price: float, fallback_fee: float = 0.0,
    ) -> tuple[float, float, float]:
        """(exit price, realized PnL after fees, total fees) of the whole position.

        The exit price is the size-weighted price of the exit fills seen, else the fallback
        (the close order's price, the venue's exit price or the last price) for the part not
        seen; the fallback fee (the close order's) counts for that part too."""
        position = self.position
        qty = position.qty
        seen = min(self.exit_qty, qty)
        unseen = qty - seen
        value = (self.exit_value / self.exit_qty) * seen if self.exit_qty > 0 else 0.0
        value += fallback_exit_price * unseen
        exit_price = value / qty if qty > 0 else fallback_exit_price
        gross = (exit_price - position.entry_price) * qty * position.side.sign
        fees = self.entry_fee + self.exit_fees
        if qty > 0 and unseen > 0:
            fees += fallback_fee * unseen / qty
        return exit_price, gross - fees, fees


OnClosed = Callable[[str, float, str, int], None]
"""(symbol, realized PnL, exit reason, time): a close counted for the day, the stop streak and
the symbol's re-entry cooldown."""


class PositionBook:
    """The open trades and everything done to them: open, protect, move the stop, exits,
    adopt, close, and reconciliation actions applied.

    It acts on the exchange only through the `Executor` and never needs the venue's market data
    feed: prices, densities and tapes come from the `MarketEngine` the engine feeds. `busy`
    names the symbols with an order in flight (entries share it)."""

    def __init__(
        self,
        executor: Executor,
        journal: Journal,
        market: MarketEngine,
        emit: Emit,
        *,
        clock_ms: Callable[[], int],
        instruments: dict[str, Instrument],
        last_price: dict[str, float],
        rules_of: Callable[[str], tuple[SignalRules, ExitRules, RiskRules]],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        store_failed: Callable[[Exception], None],
        on_closed: OnClosed,
        save_state: Callable[[], Awaitable[None]],
        save_account: Callable[[], Awaitable[None]],
        fee_rate: float,
        protect_stop_pct: float,
        answer_after_ms: int = 0,
    ) -> None:
        self.executor = executor
        self.journal = journal
        self.market = market
        self.emit = emit
        self.clock_ms = clock_ms
        self.instruments = instruments
        self.last_price = last_price
        self.rules_of = rules_of
        self.spawn = spawn
        self.store_failed = store_failed
        self.on_closed = on_closed
        self.save_state = save_state
        self.save_account = save_account
        self.fee_rate = fee_rate
        self.protect_stop_pct = protect_stop_pct
        self.answer_after_ms = answer_after_ms
        self.trades: dict[str, OpenTrade] = {}
        self.busy: set[str] = set()

    @property
    def venue_name(self) -> str:
        return self.executor.exchange.name

    # ---- opening and protection

    def resume(self, position: Position, signal: Signal | None) -> None:
        """Follow a stored open position again after a restart.

        Density ids belong to the tracker of one process: a resumed bounce looks for its wall
        again by side and price (`_find_wall`); a breakout's exits need no density."""
        trade = OpenTrade(position, kind=signal.kind if signal else None)
        if signal is not None and signal.kind is SignalKind.BOUNCE:
            trade.wall = (signal.density_side, signal.density_price)
        self.trades[position.symbol] = trade

    async def open(self, signal: Signal, answer: Order) -> None:
        """Store the position the entry opened and make sure its stop-loss is on the exchange."""
        symbol = signal.symbol
        venue_position = await self.venue_position(symbol)
        if venue_position is None:
            self.emit(
                EventKind.ENTRY_GONE, f"{symbol}: filled but the venue shows no position now",
                symbol,
            )
            return
        position = replace(
            venue_position, signal_id=signal.id, id=None, venue=self.venue_name,
            opened_at=venue_position.opened_at or answer.updated_at,
        )
        position.id = await self.journal.open_position(position)
        trade = OpenTrade(
            position, kind=signal.kind, density_id=signal.density_id,
            entry_link_id=answer.order_link_id, entry_fee=answer.fee,
            known_at=self.clock_ms() + self.answer_after_ms,
        )
        self.trades[symbol] = trade
        await self.save_account()
        self.emit(
            EventKind.OPENED,
            f"{position.side.value} {position.qty:g} {symbol} @ {position.entry_price:g} "
            f"stop {position.stop_loss or 0:g} ({signal.kind.value})",
            symbol,
        )
        if not position.protected:
            await self.protect(trade, signal.stop_loss)
        elif self.answer_after_ms > 0:
            # A lockstep replay answered at once: the move waits until the fill is known.
            trade.reanchor_from = (signal.entry_price, signal.stop_loss)
        else:
            await self._reanchor(trade, signal.entry_price, signal.stop_loss)

    async def _reanchor(self, trade: OpenTrade, signal_price: float, signal_stop: float) -> None:
        """Move the stop-loss set from the signal's price to the same distance from the fill."""
        instrument = self.instruments.get(trade.symbol)
        position = trade.position
        if instrument is None or position.stop_loss is None or trade.breakeven:
            return
        stop = reanchored_stop(
            position.side, signal_price, signal_stop, position.entry_price,
            instrument.tick_size, self.rules_of(trade.symbol)[0].min_stop,
        )
        if stop != position.stop_loss and await self.executor.set_stop(trade.symbol, stop):
            note = f"re-anchored to the fill {position.entry_price:g}"
            await self.record_stop(trade, stop, note)

    async def protect(self, trade: OpenTrade, stop_loss: float) -> None:
        """A position without a stop-loss: set it now, or close at market and raise an alert."""
        symbol = trade.symbol
        self.emit(
            EventKind.UNPROTECTED,
            f"{symbol} has no stop-loss on the exchange: setting {stop_loss:g}", symbol,
        )
        if await self.executor.set_stop(symbol, stop_loss):
            await self.record_stop(trade, stop_loss, "set after entry: the venue had none")
            return
        self.emit(
            EventKind.STOP_LOSS_FAILED,
            f"{symbol}: closing at market, no stop-loss could be set", symbol,
        )
        await self.close(trade, "stop_loss_failed")

    async def record_stop(self, trade: OpenTrade, stop: float, note: str) -> None:
        """The stop is on the exchange already: a store that fails to record it stops entries,
        not the protection."""
        trade.position.stop_loss = stop
        try:
            await self.journal.set_stop_loss(trade.position_id, stop, self.clock_ms(), note)
        except JournalError as exc:
            self.store_failed(exc)

    # ---- exits

    def check_exits(self, trade: OpenTrade, now: int, last: float) -> None:
        """Mark the position at `last`, move its stop to break-even, close it by the rules."""
        if now < trade.known_at:
            return
        if trade.reanchor_from is not None:
            (price, stop), trade.reanchor_from = trade.reanchor_from, None
            self.spawn(self._reanchor(trade, price, stop))
        symbol = trade.symbol
        exit_rules = self.rules_of(symbol)[1]
        instrument = self.instruments.get(symbol)
        position = trade.position
        position.mark_price = last
        position.unrealized_pnl = (last - position.entry_price) * position.qty * position.side.sign
        if not trade.breakeven and instrument is not None:
            stop = breakeven_stop(position, last, self.fee_rate, instrument.tick_size, exit_rules)
            if stop is not None:
                trade.breakeven = True
                self.spawn(self._move_stop(trade, stop))
        if trade.kind is None or (trade.wall is not None and not self._find_wall(trade)):
            return
        tape = self.market.tape(symbol)
        assert tape is not None
        decision = exit_decision(
            position, trade.kind, trade.density_id, now, last, self.market.densities(symbol),
            tape, exit_rules,
        )
        if decision is not None and symbol not in self.busy:
            self.spawn(self.close(trade, decision.reason, decision.detail))

    def _find_wall(self, trade: OpenTrade) -> bool:
        """A bounce resumed after a restart: once its book is valid again, follow the density
        that holds its wall's price on its side; if none does, the wall went while the engine
        was away and the bounce closes as density_gone. False until its exits can be judged
        (its stop-loss and break-even hold meanwhile)."""
        assert trade.wall is not None
        symbol = trade.symbol
        if not self.market.book_valid(symbol) or symbol in self.busy:
            return False
        side, price = trade.wall
        trade.wall = None
        for density in self.market.densities(symbol):
            if density.side is side and density.price_low <= price <= density.price_high:
                trade.density_id = density.id
                self.emit(
                    EventKind.RELINKED,
                    f"{symbol}: bounce follows its wall at {density.price:g} again", symbol,
                )
                return True
        self.spawn(self.close(trade, "density_gone", f"no wall at {price:g} after a restart"))
        return False

    async def _move_stop(self, trade: OpenTrade, stop: float) -> None:
        symbol = trade.symbol
        if await self.executor.set_stop(symbol, stop):
            await self.record_stop(trade, stop, "break-even")
            self.emit(
                EventKind.BREAKEVEN, f"{symbol}: stop-loss moved to break-even {stop:g}", symbol,
            )
        else:
            trade.breakeven = False

    # ---- closing

    async def close(self, trade: OpenTrade, reason: str, detail: str = "") -> None:
        symbol = trade.symbol
        if symbol in self.busy and reason not in FORCED_CLOSES:
            return
        trade.closing = reason
        self.busy.add(symbol)
        try:
            position = trade.position
            self.emit(
                EventKind.EXIT, f"{symbol}: {reason}" + (f" ({detail})" if detail else ""), symbol,
            )
            answer = await self.executor.close(symbol, position.side, position.qty, reason)
            if answer is None or answer.filled_qty <= 0:
                trade.closing = ""
                return
            venue_position = await self.venue_position(symbol)
            if venue_position is None:
                await self.finish(trade, answer.avg_price, reason, answer.fee)
        except JournalError as exc:
            self.store_failed(exc)
        finally:
            self.busy.discard(symbol)

    async def finish(
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
        self.on_closed(trade.symbol, pnl, reason, now)
        try:
            await self.journal.close_position(
                trade.position_id, now, exit_price=exit_price, exit_reason=reason,
                realized_pnl=pnl, fees=fees,
            )
        except JournalError as exc:
            self.store_failed(exc)
        await self.save_state()
        position = trade.position
        self.emit(
            EventKind.CLOSED,
            f"{position.side.value} {position.qty:g} {trade.symbol} closed @ {exit_price:g}: "
            f"{reason}, PnL {pnl:+.4f} USDT",
            trade.symbol,
        )

    # ---- what the venue reports

    def on_fill(self, fill: Fill) -> None:
        trade = self.trades.get(fill.symbol)
        if trade is not None:
            trade.add_exit_fill(fill)

    async def on_position(self, position: Position) -> None:
        trade = self.trades.get(position.symbol)
        if trade is None:
            return
        if position.qty <= 0 or position.closed_at is not None:
            reason = position.exit_reason or trade.closing or guess_reason(trade, position)
            fallback = position.exit_price or self.last_price.get(position.symbol, 0.0)
            await self.finish(trade, fallback, reason)
            return
        if position.stop_loss != trade.position.stop_loss and position.stop_loss:
            await self.record_stop(trade, position.stop_loss, "reported by the venue")

    async def reconcile(self, venue_positions: Sequence[Position], now: int) -> None:
        """Bring the trades in line with the venue's positions (`reconcile_positions`);
        symbols with an order in flight wait for the next round."""
        busy = frozenset(self.busy)
        stored = [t.position for s, t in self.trades.items() if s not in busy]
        venue_positions = [p for p in venue_positions if p.symbol not in busy]
        for action in reconcile_positions(stored, venue_positions, busy):
            if isinstance(action, Adopt):
                await self._adopt(action.position)
            elif isinstance(action, ClosedOutside):
                trade = self.trades.get(action.stored.symbol)
                if trade is not None:
                    reason = trade.closing or guess_reason(trade, trade.position)
                    await self.finish(trade, self.last_price.get(trade.symbol, 0.0), reason)
            elif isinstance(action, Protect):
                trade = self.trades.get(action.position.symbol)
                if trade is not None:
                    await self.protect(trade, self._protective_stop(action.position))
            elif isinstance(action, StopChanged):
                trade = self.trades.get(action.stored.symbol)
                if trade is not None:
                    await self.record_stop(trade, action.venue_stop, "reconciled with the venue")
            elif isinstance(action, QtyChanged):
                trade = self.trades.get(action.stored.symbol)
                if trade is not None:
                    trade.position.qty = action.venue.qty
                    await self.journal.update_position(trade.position_id, now, qty=action.venue.qty)

    async def _adopt(self, position: Position) -> None:
        stored = replace(position, id=None, venue=self.venue_name, signal_id="")
        stored.opened_at = stored.opened_at or self.clock_ms()
        stored.id = await self.journal.open_position(stored)
        self.trades[position.symbol] = OpenTrade(stored)
        self.emit(
            EventKind.ADOPTED,
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
        pct = self.protect_stop_pct / 100.0
        price = position.mark_price or self.last_price.get(position.symbol) or position.entry_price
        instrument = self.instruments.get(position.symbol)
        tick = instrument.tick_size if instrument else 0.0
        if position.side is Side.BUY:
            stop = price * (1 - pct)
            return floor_to_step(stop, tick) if tick else stop
        stop = price * (1 + pct)
        return ceil_to_step(stop, tick) if tick else stop

    async def venue_position(self, symbol: str) -> Position | None:
        try:
            positions = await self.executor.exchange.positions()
        except ExchangeError as exc:
            self.emit(EventKind.VENUE_ERROR, f"positions unavailable: {exc}", symbol)
            return None
        return next((p for p in positions if p.symbol == symbol and p.qty > 0), None)


def guess_reason(trade: OpenTrade, position: Position) -> str:
    """A close the engine did not send: the stop-loss if it filled at or beyond the stop."""
    stop = trade.position.stop_loss
    price = position.exit_price or position.mark_price
    if stop and price:
        long = trade.position.side is Side.BUY
        if (price <= stop * 1.001) if long else (price >= stop * 0.999):
            return "stop_loss"
    return "closed_on_exchange"
