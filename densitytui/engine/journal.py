"""What the engine needs from a store, as a protocol, so the engine does not import storage.

Storage sits above the engine in the layer order (DESIGN.md §9): `storage.Store` satisfies
this protocol structurally and its errors derive from `JournalError`, which is all the engine
catches. Every method is one durable transaction; the engine awaits it before it acts on the
exchange (an order row exists before the order is sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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

JsonValue = object


class JournalError(Exception):
    """The store could not do what was asked; the engine stops entries and says why."""


class Journal(Protocol):
    """The subset of `storage.Store` the engine writes and reads."""

    async def save_signal(self, signal: Signal) -> bool: ...

    async def signal(self, signal_id: str) -> Signal | None: ...

    async def add_decision(self, decision: Decision) -> int: ...

    async def insert_order(self, order: Order, venue: str) -> None: ...

    async def insert_orders(self, orders: Sequence[Order], venue: str) -> None: ...

    async def record_entry(
        self, signal: Signal, decision: Decision, order: Order, venue: str,
    ) -> None: ...

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
    ) -> Order: ...

    async def order(self, order_link_id: str) -> Order | None: ...

    async def open_orders(self, venue: str | None = None) -> list[Order]: ...

    async def add_fill(self, fill: Fill) -> bool: ...

    async def open_position(self, position: Position) -> int: ...

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
    ) -> Position: ...

    async def set_stop_loss(
        self, position_id: int, stop_loss: float | None, ts: int, note: str = ""
    ) -> PositionEvent | None: ...

    async def close_position(
        self,
        position_id: int,
        closed_at: int,
        *,
        exit_price: float,
        exit_reason: str,
        realized_pnl: float,
        fees: float | None = None,
    ) -> Position: ...

    async def add_position_event(self, event: PositionEvent) -> int: ...

    async def open_positions(self, venue: str | None = None) -> list[Position]: ...

    async def closed_positions(
        self, limit: int = 50, venue: str | None = None
    ) -> list[Position]: ...

    async def append_events(self, events: Sequence[AppEvent]) -> None: ...

    async def add_density_events(self, events: Sequence[DensityEvent]) -> None: ...

    async def add_market_stats(self, samples: Sequence[MarketStats]) -> None: ...

    async def save_coin_parameters(self, parameters: CoinParameters) -> None: ...

    async def prune(self, now_ms: int) -> dict[str, int]: ...

    async def set_state(self, key: str, value: JsonValue, ts: int) -> None: ...

    async def get_state(self, key: str, default: JsonValue = None) -> JsonValue: ...

    async def latest_time_ms(self) -> int | None: ...
