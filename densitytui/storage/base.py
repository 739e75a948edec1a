"""The one store interface the engine writes to and the UI reads from, whatever the backend.

Every method is one transaction: it either happens completely or not at all. Times are integer
milliseconds since the epoch (UTC) and are always passed in, never read from a clock, so a replay
or a test stores exactly what it means to. Lists of recent things come newest first; the history
of one thing (the fills of an order, the events of a position) comes oldest first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from pydantic import JsonValue

from densitytui.engine.journal import JournalError
from densitytui.model import (
    AppEvent,
    CoinParameters,
    Decision,
    DensityEvent,
    Fill,
    MarketStats,
    Order,
    OrderStatus,
    Position,
    PositionEvent,
    Signal,
)

TABLES = (
    "signals",
    "decisions",
    "orders",
    "fills",
    "positions",
    "position_events",
    "densities",
    "events",
    "market_stats",
    "coin_parameters",
    "state",
)
"""Every table of the schema, in the order `db info` lists them."""

OPEN_ORDER_STATUSES = (
    OrderStatus.CREATED,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.UNTRIGGERED,
    OrderStatus.UNKNOWN,
)
"""Statuses of orders whose outcome is not final yet: reconciliation asks the venue about them."""

RETENTION_TABLES = ("densities", "market_stats")
"""Tables of market history that are pruned after `storage.retention_days`."""

DAY_MS = 86_400_000


class StoreError(JournalError):
    """Something the store could not do; the message says what and where."""


class StoreUnavailable(StoreError):
    """The database could not be opened or reached."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer densitytui than this one."""


class DuplicateRecord(StoreError):
    """A record with this key is stored already (e.g. an `order_link_id` used twice)."""


class RecordNotFound(StoreError, LookupError):
    """No record has this key."""


class PositionClosed(StoreError):
    """The position is closed; a closed position does not change any more."""


class InvalidRecord(StoreError):
    """A value that cannot be stored as given (e.g. a state value that is not JSON)."""


class CorruptRecord(StoreError):
    """A stored row that does not read back as a valid record; names the table, key and field."""


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What `densitytui db info` shows."""

    backend: str
    location: str
    schema_version: int
    latest_version: int
    row_counts: dict[str, int]
    notes: tuple[str, ...] = ()


class Store(ABC):
    """Persistent record of what densitytui saw, proposed and did."""

    backend: str
    """`sqlite` or `postgresql`."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data lives: a file path, or a DSN with its password replaced by `***`."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def connect(self) -> None:
        """Open the database (creating a SQLite file and its directory when absent)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection(s) and any account lock; the store is unusable afterwards."""

    @abstractmethod
    async def lock_account(self, venue: str) -> None:
        """Hold the lock of `venue`'s account in this store until `close()` (or the process's
        end); `AccountLocked` when another engine holds it. Every engine takes it first."""

    # ---- schema

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; return the versions applied.

        Raises `SchemaTooNew` when the database is ahead of this code.
        """

    @abstractmethod
    async def schema_version(self) -> int:
        """The highest migration applied; 0 for an empty database."""

    @abstractmethod
    async def info(self) -> StoreInfo:
        """Backend, location, schema version and row counts of the tables that exist."""

    @abstractmethod
    async def prune(self, now_ms: int) -> dict[str, int]:
        """Delete densities and market stats older than the retention; rows deleted per table."""

    # ---- signals

    @abstractmethod
    async def save_signal(self, signal: Signal) -> bool:
        """Store a signal; False when one with this id is stored already (it is kept as it was)."""

    @abstractmethod
    async def signal(self, signal_id: str) -> Signal | None:
        """The signal with this id."""

    @abstractmethod
    async def add_decision(self, decision: Decision) -> int:
        """Record what was done with a signal and every check's result; return its id."""

    @abstractmethod
    async def decisions(self, signal_id: str | None = None, limit: int = 100) -> list[Decision]:
        """Decisions on one signal (oldest first), or the most recent ones (newest first)."""

    @abstractmethod
    async def recent_signals(self, limit: int = 50, symbol: str | None = None) -> list[Signal]:
        """Newest first."""

    # ---- orders and fills

    @abstractmethod
    async def insert_order(self, order: Order, venue: str) -> None:
        """Store an order before it is sent (status Created); `DuplicateRecord` if id is used."""

    @abstractmethod
    async def insert_orders(self, orders: Sequence[Order], venue: str) -> None:
        """Store many orders before they are sent, in one transaction (close-all's closes);
        `DuplicateRecord` if any link id is used, and then none is stored."""

    @abstractmethod
    async def record_entry(
        self, signal: Signal, decision: Decision, order: Order, venue: str,
    ) -> None:
        """Store an entry before it is sent, in one transaction: its signal (kept if stored
        already), the decision with its checks, and the order (status Created);
        `DuplicateRecord` if the order's link id is used."""

    @abstractmethod
    async def update_order(
        self,
        order_link_id: str,
        updated_at: int,
        *,
        status: OrderStatus | None = None,
        order_id: str | None = None,
        filled_qty: float | None = None,
        avg_price: float | None = None,
        fee: float | None = None,
        reject_code: int | None = None,
        reject_reason: str | None = None,
    ) -> Order:
        """Record what the venue answered; only fields given change; `RecordNotFound` if none.

        A status never moves backwards (`order_status_rank`): an answer older than what is
        stored (a late `New` after `Filled`) changes nothing and the stored order is returned."""

    @abstractmethod
    async def order(self, order_link_id: str) -> Order | None:
        """The order with this link id."""

    @abstractmethod
    async def open_orders(self, venue: str | None = None) -> list[Order]:
        """Orders whose status is not final (`OPEN_ORDER_STATUSES`), oldest first."""

    @abstractmethod
    async def add_fill(self, fill: Fill) -> bool:
        """Store an execution; False when its `exec_id` is stored already (streams repeat them)."""

    @abstractmethod
    async def fills(self, order_link_id: str) -> list[Fill]:
        """Fills of one order, oldest first."""

    @abstractmethod
    async def recent_fills(self, limit: int = 100) -> list[Fill]:
        """Newest first."""

    # ---- positions

    @abstractmethod
    async def open_position(self, position: Position) -> int:
        """Store a new position and its `opened` (and `stop_loss_set`) events; return its id."""

    @abstractmethod
    async def update_position(
        self,
        position_id: int,
        ts: int,
        *,
        qty: float | None = None,
        entry_price: float | None = None,
        mark_price: float | None = None,
        unrealized_pnl: float | None = None,
        realized_pnl: float | None = None,
        fees: float | None = None,
    ) -> Position:
        """Change the figures given; a new quantity is recorded as a `qty_changed` event."""

    @abstractmethod
    async def set_stop_loss(
        self, position_id: int, stop_loss: float | None, ts: int, note: str = ""
    ) -> PositionEvent | None:
        """Set, move or remove the stop-loss and record the event; None when it did not change."""

    @abstractmethod
    async def set_take_profit(
        self, position_id: int, take_profit: float | None, ts: int, note: str = ""
    ) -> PositionEvent | None:
        """Set or remove the take-profit and record the event; None when it did not change."""

    @abstractmethod
    async def close_position(
        self,
        position_id: int,
        closed_at: int,
        *,
        exit_price: float,
        exit_reason: str,
        realized_pnl: float,
        fees: float | None = None,
    ) -> Position:
        """Mark the position closed and record the `closed` event; `PositionClosed` if it was."""

    @abstractmethod
    async def add_position_event(self, event: PositionEvent) -> int:
        """Record another change of a position; return the event's id."""

    @abstractmethod
    async def position(self, position_id: int) -> Position | None:
        """The position with this id, open or closed."""

    @abstractmethod
    async def open_positions(self, venue: str | None = None) -> list[Position]:
        """Positions not closed yet, oldest first."""

    @abstractmethod
    async def closed_positions(self, limit: int = 50, venue: str | None = None) -> list[Position]:
        """Position history, most recently closed first."""

    @abstractmethod
    async def position_events(self, position_id: int) -> list[PositionEvent]:
        """Everything that happened to one position, oldest first."""

    # ---- market history

    @abstractmethod
    async def add_density_events(self, events: Sequence[DensityEvent]) -> None:
        """Record density lifecycle steps (many at once: the tracker emits them in bursts)."""

    @abstractmethod
    async def density_events(
        self, limit: int = 100, symbol: str | None = None
    ) -> list[DensityEvent]:
        """Newest first."""

    @abstractmethod
    async def add_market_stats(self, samples: Sequence[MarketStats]) -> None:
        """Record samples; a second sample of a symbol at the same time replaces the first."""

    @abstractmethod
    async def market_stats(self, symbol: str, limit: int = 100) -> list[MarketStats]:
        """Newest first."""

    @abstractmethod
    async def save_coin_parameters(self, parameters: CoinParameters) -> None:
        """Insert or replace the parameters of one symbol."""

    @abstractmethod
    async def coin_parameters(self, symbol: str) -> CoinParameters | None:
        """The stored parameters of one symbol."""

    @abstractmethod
    async def all_coin_parameters(self) -> list[CoinParameters]:
        """Every symbol's parameters, by symbol."""

    # ---- audit log and state

    @abstractmethod
    async def append_event(self, event: AppEvent) -> int:
        """Append to the audit log; return the entry's id. `data` must be JSON."""

    @abstractmethod
    async def append_events(self, events: Sequence[AppEvent]) -> None:
        """Append many entries in one transaction (the engine writes its log in batches)."""

    @abstractmethod
    async def recent_events(
        self, limit: int = 100, kind: str | None = None, symbol: str | None = None
    ) -> list[AppEvent]:
        """Newest first."""

    @abstractmethod
    async def set_state(self, key: str, value: JsonValue, ts: int) -> None:
        """Store a JSON value under `key` (e.g. the equity peak), replacing the previous one."""

    @abstractmethod
    async def get_state(self, key: str, default: JsonValue = None) -> JsonValue:
        """The value stored under `key`, or `default`."""

    @abstractmethod
    async def latest_time_ms(self) -> int | None:
        """The latest time anything was stored with (None for an empty store): a simulated
        market restarted on this store resumes after it, so its time never runs backwards."""
