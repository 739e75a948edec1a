"""What the trading engine publishes: plain snapshots the UI renders and events it lists.

The UI never reaches into the engine's working objects: it reads the latest `EngineSnapshot`
(rebuilt at most a few times a second), the live book and densities of the symbol it shows, and
the event log since the last sequence number it saw. Commands go the other way through
`EngineControl`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from densitytui.model import AppEvent, Density, Position, Signal, TradingMode, Trend

if TYPE_CHECKING:
    from densitytui.market.book import OrderBook


class FeedState(StrEnum):
    """How the market data connection is doing, as the status bar shows it."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(slots=True, frozen=True)
class MoverRow:
    """One watched symbol in the movers table."""

    rank: int
    symbol: str
    last_price: float
    change_24h_pct: float
    turnover_24h: float
    trend: Trend
    densities: int
    book_valid: bool
    # Recent prices, oldest first, for a small sparkline.
    prices: tuple[float, ...] = ()
    has_position: bool = False


@dataclass(slots=True, frozen=True)
class PendingSignal:
    """A signal waiting for confirmation (semi) or shown for information (manual)."""

    signal: Signal
    expires_at: int
    density_notional: float
    density_erosion: float
    # Distance from the current price to the entry, in %.
    distance_pct: float
    # Why the default size can never trade it (the instrument's minimum order beyond the
    # exposure cap), short enough for a table cell; "" when it can be traded.
    cannot_trade: str = ""


@dataclass(slots=True, frozen=True)
class EngineStatus:
    """The status bar's figures."""

    now_ms: int
    venue: str
    mode: TradingMode
    entries_paused: bool
    # Why entries are blocked right now ("" when they are not): daily loss, streak, stale data...
    blocked_reason: str
    feed: FeedState
    # Milliseconds since the last market message, by local receive time.
    data_age_ms: int
    # Round trip of the last exchange request, in ms (None before the first).
    latency_ms: float | None
    equity: float
    available: float
    exposure_usdt: float
    day_pnl: float
    # The store can be written: when False no entries are made and the screen says why.
    store_ok: bool = True
    store_error: str = ""


@dataclass(slots=True, frozen=True)
class EngineSnapshot:
    """Everything the screen shows besides books and densities; `version` grows on each build."""

    version: int
    status: EngineStatus
    movers: tuple[MoverRow, ...] = ()
    signals: tuple[PendingSignal, ...] = ()
    positions: tuple[Position, ...] = ()
    # Symbols whose open position's stop-loss has been moved to break-even.
    breakeven: frozenset[str] = field(default_factory=frozenset)


class EngineControl(Protocol):
    """What the UI may ask of the engine. Commands raise nothing for refusals: a refusal is an
    event in the log (and a notification), so a keypress never crashes the screen."""

    def snapshot(self) -> EngineSnapshot: ...

    def book(self, symbol: str) -> OrderBook | None: ...

    def densities(self, symbol: str) -> list[Density]: ...

    def events_since(self, seq: int) -> tuple[int, Sequence[AppEvent]]:
        """Events after sequence number `seq`, and the sequence number of the newest one."""
        ...

    async def confirm(self, signal_id: str) -> None: ...

    async def reject(self, signal_id: str) -> None: ...

    async def close_position(self, symbol: str) -> None: ...

    async def close_all(self) -> None: ...

    async def set_mode(self, mode: TradingMode) -> None: ...

    async def pause_entries(self, paused: bool) -> None: ...
