"""Account safety state (DESIGN.md §7): equity peak and drawdown, the UTC day's loss and
whether its limit was reached, the stop-loss streak, each symbol's last close. Plain and
synchronous, time passed in, so it is tested alone and stored as one JSON value: a restart does
not reset the equity peak, the day's start, the day's limit or the streak."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from densitytui.strategy.checks import RiskRules, daily_loss_reached

DAY_MS = 86_400_000
STATE_VERSION = 1


def utc_day(now_ms: int) -> str:
    """The UTC date of `now_ms`, as the daily loss limit counts days."""
    return _day_name(now_ms // DAY_MS)


@lru_cache(maxsize=4)
def _day_name(day: int) -> str:
    """Asked once a second of market time: a date is formatted once a day."""
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


@dataclass(slots=True)
class Safety:
    """What the entry checks and the kill switch need to remember across restarts."""

    rules: RiskRules
    equity_peak: float = 0.0
    day: str = ""
    day_start_equity: float = 0.0
    day_realized_pnl: float = 0.0
    stop_times: list[int] = field(default_factory=list)
    # Set when the kill switch fired; entries stay off until the trader turns a mode on again.
    killed_at: int | None = None
    # The UTC day on which the daily loss limit was reached ("" if not today): it holds all day.
    day_loss_hit: str = ""
    # Per symbol, the time of its last close (the re-entry cooldown).
    last_close_ms: dict[str, int] = field(default_factory=dict)
    # The equity peak as last stored (it is saved again whenever it rises).
    _saved_peak: float = 0.0

    # ---- inputs

    def on_equity(self, equity: float, now_ms: int) -> bool:
        """Track the peak and the UTC day; True when the drawdown from the peak is beyond
        `max_drawdown_pct` (the caller closes everything and switches to manual)."""
        self._roll_day(equity, now_ms)
        if equity > self.equity_peak:
            self.equity_peak = equity
        return self.drawdown_pct(equity) > self.rules.max_drawdown_pct

    def peak_unsaved(self) -> bool:
        """The equity peak rose since `to_state` was last taken."""
        return self.equity_peak > self._saved_peak

    def on_closed(self, symbol: str, realized_pnl: float, exit_reason: str, now_ms: int) -> None:
        """A position closed: its PnL counts for the day (and may reach its loss limit); a
        stop-loss joins the streak; the symbol's cooldown starts."""
        self.last_close_ms[symbol] = now_ms
        if self.day == utc_day(now_ms):
            self.day_realized_pnl += realized_pnl
            self.note_day_loss(0.0)
        if exit_reason == "stop_loss":
            self.stop_times.append(now_ms)
            window = self.rules.stop_streak_window_ms + self.rules.stop_streak_pause_ms
            self.stop_times = [t for t in self.stop_times if t > now_ms - window]

    def note_day_loss(self, unrealized_pnl: float) -> bool:
        """Latch the daily loss limit when the day's loss, realized plus `unrealized_pnl`,
        reaches it; True when it was reached just now."""
        if self.day_loss_hit == self.day or not self.day:
            return False
        if daily_loss_reached(
            self.day_realized_pnl, unrealized_pnl, self.day_start_equity, self.rules,
        ):
            self.day_loss_hit = self.day
            return True
        return False

    def loss_limit_hit(self, now_ms: int) -> bool:
        return bool(self.day_loss_hit) and self.day_loss_hit == utc_day(now_ms)

    def _roll_day(self, equity: float, now_ms: int) -> None:
        day = utc_day(now_ms)
        if day != self.day:
            self.day = day
            self.day_start_equity = equity
            self.day_realized_pnl = 0.0

    # ---- queries

    def drawdown_pct(self, equity: float) -> float:
        if self.equity_peak <= 0:
            return 0.0
        return max(0.0, (self.equity_peak - equity) / self.equity_peak * 100.0)

    def recent_stops(self, now_ms: int) -> list[int]:
        """Stop-loss times inside the streak window plus the pause, for the entry check."""
        window = self.rules.stop_streak_window_ms + self.rules.stop_streak_pause_ms
        return [t for t in self.stop_times if t > now_ms - window]

    # ---- storage

    def to_state(self) -> dict[str, Any]:
        self._saved_peak = self.equity_peak
        return {
            "version": STATE_VERSION,
            "equity_peak": self.equity_peak,
            "day": self.day,
            "day_start_equity": self.day_start_equity,
            "day_realized_pnl": self.day_realized_pnl,
            "stop_times": list(self.stop_times),
            "killed_at": self.killed_at,
            "day_loss_hit": self.day_loss_hit,
            "last_close_ms": dict(self.last_close_ms),
        }

    def restore(self, state: object) -> None:
        """Take back what `to_state` stored; anything unreadable leaves the defaults."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            return
        self.equity_peak = float(state.get("equity_peak") or 0.0)
        self.day = str(state.get("day") or "")
        self.day_start_equity = float(state.get("day_start_equity") or 0.0)
        self.day_realized_pnl = float(state.get("day_realized_pnl") or 0.0)
        self.stop_times = [int(t) for t in state.get("stop_times") or []]
        killed = state.get("killed_at")
        self.killed_at = int(killed) if killed is not None else None
        self.day_loss_hit = str(state.get("day_loss_hit") or "")
        closes = state.get("last_close_ms") or {}
        self.last_close_ms = {str(k): int(v) for k, v in closes.items()}
        self._saved_peak = self.equity_peak
