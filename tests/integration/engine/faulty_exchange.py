"""`FaultyExchange`: a real paper account behind switches that make it fail as exchanges do.

It is a venue-level stand-in, not a mock of our engine: every call reaches the real
`PaperBroker`, and a switch changes only what the engine hears back (a lost answer, a refused
stop-loss, a failed cancel) or what the venue does (an entry whose stop-loss is not attached).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from densitytui.model import (
    Balance,
    MarginMode,
    Order,
    OrderRequest,
    Position,
    Trade,
)
from densitytui.venues.base import (
    AccountUpdate,
    OrderRejected,
    OutcomeUnknown,
    SimulatedAccount,
    VenueUnavailable,
)
from densitytui.venues.paper import PaperBroker


class FaultyExchange(SimulatedAccount):
    """Delegates to a `PaperBroker`; the public attributes are the fault switches."""

    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker
        self.name = broker.name
        # The entry is placed without its stop-loss, and every stop-loss request is refused.
        self.reject_stop_loss = False
        # The next N entries are placed but their answer is lost (OutcomeUnknown).
        self.lose_answers = 0
        # The next N entries never reach the venue, and no answer comes (OutcomeUnknown).
        self.drop_requests = 0
        # The next N cancel-all requests fail before reaching the venue.
        self.fail_cancels = 0
        # Answers to order lookups are "not found" this many times first (a slow venue).
        self.lookup_misses = 0
        # What the venue says is wrong with it (a REST ban, a refused key), None when nothing.
        self.problem_text: str | None = None
        # The account's margin mode as the venue reports it (None: the paper account's own).
        self.margin: MarginMode | None = None
        self.placed: list[OrderRequest] = []
        self.cancel_calls = 0

    async def place_order(self, request: OrderRequest) -> Order:
        self.placed.append(request)
        if self.drop_requests > 0 and not request.reduce_only:
            self.drop_requests -= 1
            raise OutcomeUnknown("timed out: no answer")
        if self.reject_stop_loss and request.stop_loss is not None:
            request = replace(request, stop_loss=None)
        answer = await self.broker.place_order(request)
        if self.lose_answers > 0 and not request.reduce_only:
            self.lose_answers -= 1
            raise OutcomeUnknown("connection reset after the request was sent")
        return answer

    async def set_stop_loss(self, symbol: str, stop_loss: float | None) -> None:
        if self.reject_stop_loss:
            raise OrderRejected("StopLoss set failed (test switch)", 10001)
        await self.broker.set_stop_loss(symbol, stop_loss)

    async def cancel_all(self) -> list[str]:
        self.cancel_calls += 1
        if self.fail_cancels > 0:
            self.fail_cancels -= 1
            raise VenueUnavailable("cancel-all: connection refused (test switch)")
        return await self.broker.cancel_all()

    async def positions(self) -> list[Position]:
        return await self.broker.positions()

    async def open_orders(self) -> list[Order]:
        return await self.broker.open_orders()

    async def balance(self) -> Balance:
        return await self.broker.balance()

    async def order_by_link_id(self, symbol: str, order_link_id: str) -> Order | None:
        if self.lookup_misses > 0:
            self.lookup_misses -= 1
            return None
        return await self.broker.order_by_link_id(symbol, order_link_id)

    async def set_leverage(self, symbol: str, leverage: float) -> None:
        await self.broker.set_leverage(symbol, leverage)

    async def margin_mode(self) -> MarginMode:
        if self.margin is not None:
            return self.margin
        return await self.broker.margin_mode()

    async def set_margin_mode(self, mode: MarginMode) -> None:
        await self.broker.set_margin_mode(mode)

    def updates(self) -> AsyncIterator[AccountUpdate]:
        return self.broker.updates()

    async def close(self) -> None:
        await self.broker.close()

    @property
    def problem(self) -> str | None:
        return self.problem_text

    # The public stream feeds the paper account through the wrapper, which keeps its state.
    def on_trade(self, trade: Trade) -> None:
        self.broker.on_trade(trade)

    def on_prices(self, symbol: str, prices: Sequence[float]) -> None:
        self.broker.on_prices(symbol, prices)

    def on_mark(self, symbol: str, mark_price: float, ts: int) -> None:
        self.broker.on_mark(symbol, mark_price, ts)

    def on_funding_rate(self, symbol: str, rate_pct: float, ts: int) -> None:
        self.broker.on_funding_rate(symbol, rate_pct, ts)

    @property
    def pending_updates(self) -> int:
        return self.broker.pending_updates

    def export_state(self) -> Any:
        return self.broker.export_state()

    def restore_state(self, state: Any) -> None:
        self.broker.restore_state(state)
