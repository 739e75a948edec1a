"""The engine's event bus: every event kind named once, kept in a ring for the UI, handed to
listeners at once and written to the store in batches.

An event is what a trader should be able to find later (an entry, a refusal, an alert). The UI
polls `since()`; tests and the backtest listen; the store gets them from the outbox, written
by `write()` in batches of whatever queued up while the last batch was being written.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

import structlog

from densitytui.engine.journal import JournalError
from densitytui.model import AppEvent

log = structlog.get_logger("densitytui.engine")

EVENT_LOG_SIZE = 1000


class EventKind(StrEnum):
    """The kind of an engine event, as stored and shown (the value)."""

    # life cycle and commands
    STARTED = "started"
    STOPPED = "stopped"
    MODE = "mode"
    PAUSED = "paused"
    RESUMED = "resumed"
    ACCOUNT = "account"
    # signals and entries
    SIGNAL = "signal"
    REFUSED = "refused"
    REJECTED = "rejected"
    LEVERAGE = "leverage"
    MARGIN_MODE = "margin_mode"
    # orders
    ORDER_REJECTED = "order_rejected"
    ORDER_UNKNOWN = "order_unknown"
    ORDER_RESOLVED = "order_resolved"
    ORDER_LOOKUP_FAILED = "order_lookup_failed"
    ORDER_NOT_PLACED = "order_not_placed"
    # positions
    OPENED = "opened"
    ENTRY_GONE = "entry_gone"
    UNPROTECTED = "unprotected"
    STOP_LOSS_FAILED = "stop_loss_failed"
    BREAKEVEN = "breakeven"
    RELINKED = "relinked"
    EXIT = "exit"
    CLOSING = "closing"
    CLOSED = "closed"
    ADOPTED = "adopted"
    # close-all and the kill switch
    CLOSE_ALL = "close_all"
    CLOSE_ALL_DONE = "close_all_done"
    CLOSE_ALL_ALERT = "close_all_alert"
    CLOSE_ALL_ERROR = "close_all_error"
    KILL_SWITCH = "kill_switch"
    KILL_SWITCH_RESET = "kill_switch_reset"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    # market data, venue and store
    MOVERS = "movers"
    RECONNECTED = "reconnected"
    RESYNC = "resync"
    RECONCILE_SKIPPED = "reconcile_skipped"
    VENUE_ERROR = "venue_error"
    STORE_FAILED = "store_failed"
    ENGINE_ERROR = "engine_error"


ALERT_KINDS = frozenset({
    EventKind.STOP_LOSS_FAILED, EventKind.CLOSE_ALL_ALERT, EventKind.KILL_SWITCH,
    EventKind.STORE_FAILED, EventKind.UNPROTECTED, EventKind.ORDER_NOT_PLACED,
    EventKind.MARGIN_MODE, EventKind.DAILY_LOSS_LIMIT,
})

Emit = Callable[[EventKind, str, str], None]


class EventBus:
    """Emit, keep the last `size` for `since()`, tell the listeners, queue for the store."""

    def __init__(self, clock_ms: Callable[[], int], size: int = EVENT_LOG_SIZE) -> None:
        self.clock_ms = clock_ms
        self.listeners: list[Callable[[AppEvent], None]] = []
        self._ring: deque[tuple[int, AppEvent]] = deque(maxlen=size)
        self._seq = 0
        self._outbox: asyncio.Queue[AppEvent | None] = asyncio.Queue()

    def emit(self, kind: EventKind, message: str, symbol: str = "") -> None:
        level = "alert" if kind in ALERT_KINDS else "info"
        event = AppEvent(self.clock_ms(), kind.value, message, symbol, {"level": level})
        self._seq += 1
        self._ring.append((self._seq, event))
        self._outbox.put_nowait(event)
        for listener in self.listeners:
            listener(event)
        (log.warning if level == "alert" else log.info)(message, kind=kind.value, symbol=symbol)

    def since(self, seq: int) -> tuple[int, Sequence[AppEvent]]:
        """The newest sequence number and the events after `seq` still in the ring."""
        return self._seq, [event for n, event in self._ring if n > seq]

    def close(self) -> None:
        """No more events: `write()` ends after writing what is queued."""
        self._outbox.put_nowait(None)

    async def write(
        self, append: Callable[[list[AppEvent]], Awaitable[None]],
        failed: Callable[[JournalError], None],
    ) -> None:
        """Write the outbox with `append` in batches until `close()`; a store that fails goes
        to `failed` and the next batch is tried."""
        done = False
        while not done:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            done = batch[-1] is None
            events = [event for event in batch if event is not None]
            try:
                await append(events)
            except JournalError as exc:
                failed(exc)
