"""`BybitExchange`: one Bybit account (demo, testnet or mainnet) behind the `Exchange` interface.

Orders are market orders in one-way mode (positionIdx 0) with the stop-loss attached in Full
TP/SL mode, triggered by the last price. Bybit's answer to an order carries only its ids (the
order is asynchronous): `place_order` returns it as New, and fills arrive on the private stream.
REST errors are typed by `RestClient`; a lost answer raises `OutcomeUnknown` and is resolved with
`order_by_link_id`, which looks at open and recent orders, then at the order history.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from densitytui.market.decode import DecodeError
from densitytui.model import Balance, MarginMode, Order, OrderRequest, OrderStatus, Position
from densitytui.venues.base import AccountUpdate, Exchange, ExchangeError
from densitytui.venues.bybit.payloads import (
    decode_balance,
    decode_margin_mode,
    decode_order,
    decode_position,
)
from densitytui.venues.bybit.private import PrivateStream
from densitytui.venues.bybit.rest import RestClient

OPEN_ORDERS_PAGE = 50


def decimal_text(value: float) -> str:
    """A price or quantity as a plain decimal string (Bybit takes strings, never exponents)."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


class BybitExchange(Exchange):
    """See the module docstring; `problem` says why trading is impossible right now."""

    def __init__(self, name: str, rest: RestClient, private: PrivateStream) -> None:
        self.name = name
        self.rest = rest
        self.private = private

    @property
    def problem(self) -> str | None:
        """A standing refusal (bad key, IP ban) for the status line; None when all is well."""
        return self.rest.problem or self.private.auth_failure

    async def place_order(self, request: OrderRequest) -> Order:
        params: dict[str, Any] = {
            "category": "linear",
            "symbol": request.symbol,
            "side": request.side.value,
            "orderType": request.order_type.value,
            "qty": decimal_text(request.qty),
            "orderLinkId": request.order_link_id,
            "positionIdx": 0,
            "reduceOnly": request.reduce_only,
        }
        if request.price is not None:
            params["price"] = decimal_text(request.price)
        if request.stop_loss is not None:
            params.update(
                stopLoss=decimal_text(request.stop_loss), slTriggerBy="LastPrice", tpslMode="Full",
            )
        answer = await self.rest.call("place_order", places_order=True, **params)
        result = _result(answer)
        now = int(time.time() * 1000)
        return Order(
            order_link_id=str(result.get("orderLinkId") or request.order_link_id),
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
            order_type=request.order_type,
            status=OrderStatus.NEW,
            created_at=now,
            order_id=str(result.get("orderId") or ""),
            price=request.price,
            stop_loss=request.stop_loss,
            reduce_only=request.reduce_only,
            updated_at=now,
        )

    async def set_stop_loss(self, symbol: str, stop_loss: float | None) -> None:
        await self.rest.call(
            "set_trading_stop",
            category="linear",
            symbol=symbol,
            stopLoss=decimal_text(stop_loss) if stop_loss else "0",
            slTriggerBy="LastPrice",
            tpslMode="Full",
            positionIdx=0,
        )

    async def cancel_all(self) -> list[str]:
        answer = await self.rest.call("cancel_all_orders", category="linear", settleCoin="USDT")
        items = _result(answer).get("list") or []
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise ExchangeError("cancel-all: the answer's list is not a list of orders")
        return [str(item.get("orderLinkId") or item.get("orderId") or "") for item in items]

    async def positions(self) -> list[Position]:
        answer = await self.rest.call(
            "get_positions", category="linear", settleCoin="USDT", limit=200,
        )
        now = int(time.time() * 1000)
        positions = _decoded(
            lambda: [decode_position(item, self.name, now) for item in _list(answer)],
        )
        return [position for position in positions if position.qty > 0]

    async def open_orders(self) -> list[Order]:
        orders: list[Order] = []
        cursor = ""
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {
                "category": "linear", "settleCoin": "USDT", "limit": OPEN_ORDERS_PAGE,
            }
            if cursor:
                params["cursor"] = cursor
            answer = await self.rest.call("get_open_orders", **params)
            orders.extend(_decoded(lambda a=answer: [decode_order(i) for i in _list(a)]))
            cursor = str(_result(answer).get("nextPageCursor") or "")
            if not cursor or len(_list(answer)) < OPEN_ORDERS_PAGE:
                return orders
            if cursor in seen:
                raise ExchangeError(f"open orders: page cursor {cursor!r} came twice")
            seen.add(cursor)

    async def balance(self) -> Balance:
        answer = await self.rest.call("get_wallet_balance", accountType="UNIFIED")
        accounts = _list(answer)
        if not accounts:
            raise ExchangeError("wallet-balance: no UNIFIED account in the answer")
        return _decoded(lambda: decode_balance(accounts[0]))

    async def order_by_link_id(self, symbol: str, order_link_id: str) -> Order | None:
        for method, extra in (("get_open_orders", {"openOnly": 1}), ("get_order_history", {})):
            answer = await self.rest.call(
                method, category="linear", symbol=symbol, orderLinkId=order_link_id, **extra,
            )
            found = [
                order for order in _decoded(lambda a=answer: [decode_order(i) for i in _list(a)])
                if order.order_link_id == order_link_id
            ]
            if found:
                return found[0]
        return None

    async def set_leverage(self, symbol: str, leverage: float) -> None:
        text = decimal_text(leverage)
        await self.rest.call(
            "set_leverage", category="linear", symbol=symbol, buyLeverage=text, sellLeverage=text,
        )

    async def margin_mode(self) -> MarginMode:
        answer = await self.rest.call("get_account_info")
        return _decoded(lambda: decode_margin_mode(_result(answer)))

    async def set_margin_mode(self, mode: MarginMode) -> None:
        if await self.margin_mode() is mode:
            return
        await self.rest.call("set_margin_mode", setMarginMode=mode.value)

    def updates(self) -> AsyncIterator[AccountUpdate]:
        return self.private.updates()

    async def close(self) -> None:
        await self.private.close()
        await self.rest.close()


def _result(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    result = answer.get("result")
    if not isinstance(result, Mapping):
        raise ExchangeError("Bybit answered without a result object")
    return result


def _list(answer: Mapping[str, Any]) -> list[Any]:
    items = _result(answer).get("list")
    if not isinstance(items, list):
        raise ExchangeError("Bybit answered without a result list")
    return items


def _decoded(make: Any) -> Any:
    try:
        return make()
    except DecodeError as exc:
        raise ExchangeError(str(exc)) from None
