"""The risk gate: whether the engine may enter now, and every entry judged by named checks.

`RiskGate` owns the account's `Safety` (equity peak, the day's loss, the stop streak) and the
trading state: ACTIVE, PAUSED by the trader, or HALTED (the store failed, the account's
margin mode is not isolated, the kill switch fired), each with its reason. `decide` sizes an
entry and runs every check of `strategy.checks` (DESIGN.md §5, §7) on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from densitytui.engine.safety import Safety
from densitytui.model import Balance, CheckOutcome, Instrument, MarginMode, Signal
from densitytui.strategy.checks import (
    EntryContext,
    RiskRules,
    daily_loss_reached,
    failed,
    run_checks,
    size_entry,
)
from densitytui.venues.base import Exchange, ExchangeError


class TradingState(StrEnum):
    """Whether entries are possible: ACTIVE, PAUSED by the trader, HALTED by a fault."""

    ACTIVE = "active"
    PAUSED = "paused"
    HALTED = "halted"


# Every check an entry passes, in the order a decision lists them: the gate's own, then those
# of `strategy.checks.run_checks`, then sizing. A refusal always names one of these.
GATE_CHECKS = ("store_ok", "margin_mode", "kill_switch", "venue_ok", "instrument_known",
               "balance_known")
ENTRY_CHECKS = (
    "symbol_enabled", "symbol_mover", "signal_fresh", "not_handled", "max_positions",
    "no_position", "stop_distance", "entry_deviation", "density_exists", "available_balance",
    "qty_valid", "stop_on_tick", "min_notional", "position_exposure", "total_exposure",
    "min_balance", "book_valid", "data_fresh", "daily_loss", "stop_streak", "entries_not_paused",
    "reward_risk", "cooldown",
)
# Refusals made on the way to the exchange: an order on the symbol already in flight, and a
# pause acknowledged while the entry was being written (checked again just before sending).
PATH_CHECKS = ("no_order_in_flight", "entries_not_paused")
ALL_CHECKS = (*GATE_CHECKS, *ENTRY_CHECKS, "sizing", "no_order_in_flight")


@dataclass(frozen=True, slots=True)
class Verdict:
    """An entry judged: the qty it would have, every check with its numbers, the refusals."""

    qty: float
    checks: tuple[CheckOutcome, ...]
    # "name (detail)" of each check that refused; empty when the entry may go.
    refused: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return not self.refused


class RiskGate:
    """The account's safety state and the trading state; `decide` judges one entry."""

    def __init__(self, rules: RiskRules) -> None:
        self.rules = rules
        self.safety = Safety(rules)
        self.paused = False
        self.store_error = ""
        # Why the account's margin mode forbids trading ("" when it is isolated).
        self.margin_problem = ""

    # ---- the trading state

    @property
    def halt_reason(self) -> str:
        """Why trading is halted, "" when it is not."""
        if self.store_error:
            return f"store unavailable: {self.store_error}"
        if self.margin_problem:
            return self.margin_problem
        if self.safety.killed_at is not None:
            return "kill switch: drawdown limit hit"
        return ""

    @property
    def state(self) -> tuple[TradingState, str]:
        halted = self.halt_reason
        if halted:
            return TradingState.HALTED, halted
        if self.paused:
            return TradingState.PAUSED, "entries paused"
        return TradingState.ACTIVE, ""

    async def check_margin_mode(self, exchange: Exchange) -> str:
        """Isolated margin or no trading: the mode is account-wide and never changed silently.
        The problem found ("" when none)."""
        try:
            mode = await exchange.margin_mode()
        except ExchangeError as exc:
            self.margin_problem = f"margin mode unknown: {exc}"
        else:
            self.margin_problem = (
                "" if mode is MarginMode.ISOLATED
                else f"account margin mode is {mode.value}; switch it to isolated to trade"
            )
        return self.margin_problem

    def store_failed(self, exc: Exception) -> bool:
        """Record a store failure; True the first time (the caller raises the alert)."""
        first = not self.store_error
        self.store_error = str(exc) or type(exc).__name__
        return first

    def blocked_reason(self, data_age_ms: int, venue_problem: str) -> str:
        """Why no entry can be made now, whatever the signal ("" when entries may be possible):
        for the status bar; each entry is judged by `decide`."""
        state, reason = self.state
        if state is not TradingState.ACTIVE:
            return reason
        if data_age_ms > self.rules.stale_data_ms:
            return "market data stale"
        return venue_problem

    # ---- one entry

    def gate_checks(self, venue_problem: str) -> list[CheckOutcome]:
        """The account-wide checks: the store, the margin mode, the kill switch, the venue."""
        safety = self.safety
        store = CheckOutcome(
            "store_ok", not self.store_error,
            f"store unavailable: {self.store_error}" if self.store_error else "store writes",
        )
        margin = CheckOutcome(
            "margin_mode", not self.margin_problem, self.margin_problem or "isolated margin",
        )
        if safety.killed_at is not None:
            kill = CheckOutcome(
                "kill_switch", False,
                f"fired at {safety.killed_at}: drawdown from the peak {safety.equity_peak:.2f} "
                f"beyond {self.rules.max_drawdown_pct:g}%; a mode turned on again resets it",
            )
        else:
            kill = CheckOutcome(
                "kill_switch", True,
                f"not fired (peak {safety.equity_peak:.2f}, "
                f"limit {self.rules.max_drawdown_pct:g}% drawdown)",
            )
        venue = CheckOutcome(
            "venue_ok", not venue_problem, venue_problem or "the venue reports no problem",
        )
        return [store, margin, kill, venue]

    def decide(
        self,
        signal: Signal,
        instrument: Instrument | None,
        balance: Balance | None,
        rules: RiskRules,
        context: Callable[[Instrument, Balance], EntryContext],
        venue_problem: str,
    ) -> Verdict:
        """Size the entry and run every check, each named with its numbers (`ALL_CHECKS`)."""
        checks = self.gate_checks(venue_problem)
        checks.append(CheckOutcome(
            "instrument_known", instrument is not None,
            f"{signal.symbol} " + ("trading rules known" if instrument else "has no instrument"),
        ))
        checks.append(CheckOutcome(
            "balance_known", balance is not None,
            "balance known" if balance is not None else "no balance from the venue yet",
        ))
        qty = 0.0
        if instrument is not None and balance is not None:
            ctx = context(instrument, balance)
            if ctx.day_loss_hit is False and daily_loss_reached(
                ctx.day_realized_pnl, ctx.day_unrealized_pnl, ctx.day_start_equity, rules,
            ):
                self.safety.note_day_loss(ctx.day_unrealized_pnl)
            qty, sizing = size_entry(signal, balance, instrument, rules)
            checks += run_checks(ctx, qty, rules)
            checks.append(CheckOutcome("sizing", qty > 0, sizing))
        refused = tuple(f"{r.name} ({r.detail})" for r in failed(checks))
        return Verdict(qty, tuple(checks), refused)
