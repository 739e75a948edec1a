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
from densitytui.strategy.checks import EntryContext, RiskRules, failed, run_checks, size_entry
from densitytui.venues.base import Exchange, ExchangeError


class TradingState(StrEnum):
    """Whether entries are possible: ACTIVE, PAUSED by the trader, HALTED by a fault."""

    ACTIVE = "active"
    PAUSED = "paused"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class Verdict:
    """An entry judged: the qty it would have, every check with its numbers, the refusals."""

    qty: float
    checks: tuple[CheckOutcome, ...]
    # "name (detail)" of each check that refused; empty when the entry may go.
    refused: tuple[str, ...]
    # Why no entry at all could be made (the gate, before any check), "" otherwise.
    blocked: str = ""

    @property
    def accepted(self) -> bool:
        return not self.refused and not self.blocked


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
        """Why no entry can be made now, whatever the signal ("" when entries are possible)."""
        state, reason = self.state
        if state is not TradingState.ACTIVE:
            return reason
        if data_age_ms > self.rules.stale_data_ms:
            return "market data stale"
        return venue_problem

    # ---- one entry

    def decide(
        self,
        signal: Signal,
        instrument: Instrument | None,
        balance: Balance | None,
        rules: RiskRules,
        context: Callable[[Instrument, Balance], EntryContext],
        blocked: str,
    ) -> Verdict:
        """Size the entry and run every check; `blocked` (see `blocked_reason`) refuses it
        before any check."""
        if instrument is None or balance is None or blocked:
            why = blocked or ("no instrument" if instrument is None else "no balance yet")
            return Verdict(0.0, (CheckOutcome("engine", False, why),), (), why)
        qty, sizing = size_entry(signal, balance, instrument, rules)
        results = run_checks(context(instrument, balance), qty, rules)
        checks = (*results, CheckOutcome("sizing", qty > 0, sizing))
        refused = [f"{r.name} ({r.detail})" for r in failed(results)]
        if qty <= 0 and not refused:
            refused.append(f"sizing ({sizing})")
        return Verdict(qty, checks, tuple(refused))
