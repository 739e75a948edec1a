"""`LatencyExchange`: any account behind a fixed request latency, as a remote venue would be.

Paper trading and benchmarks use it to see what the engine does when every request takes time:
each call waits `delay_s` before it reaches the account (the answer comes back at once), so
concurrent requests overlap as they do over a network. The public stream feeding a paper
account (trades, marks) and its stored state pass straight through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from densitytui.model import Balance, MarginMode, Order, OrderRequest, Position, Trade
from densitytui.venues.base import AccountUpdate, SimulatedAccount
from densitytui.venues.paper import PaperBroker


class LatencyExchange(SimulatedAccount):
    """`account` with `delay_s` added to every request."""

    def __init__(self, account: PaperBroker, delay_s: float) -> None:
        self.account = account
        self.delay_s = delay_s
        self.name = account.name
        self.requests = 0

    async def _wait(self) -> None:
        self.requests += 1
        await asyncio.sleep(self.delay_s)

    async def place_order(self, request: OrderRequest) -> Order:
        await self._wait()
        return await self.account.place_order(request)

    async def set_stop_loss(self, symbol: str, stop_loss: float | None) -> None:
        await self._wait()
        await self.account.set_stop_loss(symbol, stop_loss)

    async def cancel_all(self) -> list[str]:
        await self._wait()
        return await self.account.cancel_all()

    async def positions(self) -> list[Position]:
        await self._wait()
        return await self.account.positions()

    async def open_orders(self) -> list[Order]:
        await self._wait()
        return await self.account.open_orders()

    async def balance(self) -> Balance:
        await self._wait()
        return await self.account.balance()

    async def order_by_link_id(self, symbol: str, order_link_id: str) -> Order | None:
        await self._wait()
        return await self.account.order_by_link_id(symbol, order_link_id)

    async def set_leverage(self, symbol: str, leverage: float) -> None:
        await self._wait()
        await self.account.set_leverage(symbol, leverage)

    async def margin_mode(self) -> MarginMode:
        await self._wait()
        return await self.account.margin_mode()

    async def set_margin_mode(self, mode: MarginMode) -> None:
        await self._wait()
        await self.account.set_margin_mode(mode)

    def updates(self) -> AsyncIterator[AccountUpdate]:
        return self.account.updates()

    async def close(self) -> None:
        await self.account.close()

    def on_trade(self, trade: Trade) -> None:
        self.account.on_trade(trade)

    def on_prices(self, symbol: str, prices: Sequence[float]) -> None:
        self.account.on_prices(symbol, prices)

    def on_mark(self, symbol: str, mark_price: float, ts: int) -> None:
        self.account.on_mark(symbol, mark_price, ts)

    @property
    def pending_updates(self) -> int:
        return self.account.pending_updates

    def on_funding_rate(self, symbol: str, rate_pct: float, ts: int) -> None:
        self.account.on_funding_rate(symbol, rate_pct, ts)

    def export_state(self) -> Any:
        return self.account.export_state()

    def restore_state(self, state: Any) -> None:
        self.account.restore_state(state)
