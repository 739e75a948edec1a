"""Bybit v5 account payloads (REST results and private-stream entries) → model types.

The shapes are those of ../shared/bybit/docs-examples. Numbers arrive as strings; an empty
string or "0" stop-loss means none. REST positions say `avgPrice`, the private stream
`entryPrice`. Anything else raises `DecodeError` naming the payload and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from densitytui.market.decode import DecodeError
from densitytui.model import (
    Balance,
    Fill,
    MarginMode,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
)

KIND = "bybit account"


def _float(value: Any, *, signed: bool = False) -> float:
    """A number as Bybit sends it (a string; "" or absent is 0): finite, and >= 0 unless
    `signed` (PnL, fees, which a rebate makes negative). NaN, infinities and negative sizes
    or prices are refused: a position of size "-1" is not flat, it is a broken report."""
    if value is None or value == "":
        return 0.0
    if type(value) not in (str, int, float):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or (number < 0 and not signed):
        limit = "finite" if signed else "finite and >= 0"
        raise ValueError(f"{value!r} is not {limit}")
    return number


def _field(item: Mapping[str, Any], key: str, *, signed: bool = False) -> float:
    """`item[key]` by `_float`, its error naming the field."""
    try:
        return _float(item.get(key), signed=signed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key}: {exc}") from None


def _required(item: Mapping[str, Any], key: str, *, signed: bool = False) -> float:
    """A number the payload must carry (KeyError when absent)."""
    if key not in item:
        raise KeyError(key)
    return _field(item, key, signed=signed)


def _price_or_none(item: Mapping[str, Any], key: str) -> float | None:
    number = _field(item, key)
    return number if number > 0 else None


def _what(name: str, exc: BaseException) -> DecodeError:
    if isinstance(exc, KeyError):
        return DecodeError(KIND, f"{name}: missing field {exc.args[0]!r}")
    return DecodeError(KIND, f"{name}: {type(exc).__name__}: {exc}")


def decode_order(item: Mapping[str, Any]) -> Order:
    """One order from `/v5/order/realtime`, `/v5/order/history` or the `order` topic.

    A conditional stop order (stopOrderType StopLoss) carries its trigger in `triggerPrice`."""
    try:
        status = OrderStatus(item["orderStatus"])
        order_type = OrderType(item.get("orderType") or "Market")
        conditional = bool(item.get("stopOrderType")) and item["stopOrderType"] != "UNKNOWN"
        stop_key = "triggerPrice" if conditional else "stopLoss"
        filled = _field(item, "cumExecQty")
        reason = str(item.get("rejectReason") or "")
        return Order(
            order_link_id=str(item.get("orderLinkId") or ""),
            symbol=str(item["symbol"]),
            side=Side(item["side"]),
            qty=_required(item, "qty"),
            order_type=order_type,
            status=status,
            created_at=_time(item, "createdTime"),
            order_id=str(item.get("orderId") or ""),
            price=_price_or_none(item, "price") if order_type is OrderType.LIMIT else None,
            stop_loss=_price_or_none(item, stop_key),
            reduce_only=bool(item.get("reduceOnly", False)),
            filled_qty=filled,
            avg_price=_field(item, "avgPrice") if filled else 0.0,
            fee=_field(item, "cumExecFee", signed=True),
            reject_reason="" if reason == "EC_NoError" else reason,
            updated_at=_time(item, "updatedTime"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _what("order", exc) from None


def decode_execution(item: Mapping[str, Any]) -> Fill:
    """One `execution` entry (trades only; funding and settlement are not fills)."""
    try:
        return Fill(
            exec_id=str(item["execId"]),
            order_link_id=str(item.get("orderLinkId") or ""),
            symbol=str(item["symbol"]),
            side=Side(item["side"]),
            price=_required(item, "execPrice"),
            qty=_required(item, "execQty"),
            fee=_field(item, "execFee", signed=True),
            ts=_time(item, "execTime", required=True),
            is_maker=bool(item.get("isMaker", False)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _what("execution", exc) from None


def decode_position(item: Mapping[str, Any], venue: str, now_ms: int) -> Position:
    """One position (REST or stream); size "0" is flat and comes back with `qty == 0`."""
    try:
        size = _required(item, "size")
        side_text = item.get("side") or ""
        entry_key = "avgPrice" if "avgPrice" in item else "entryPrice"
        return Position(
            symbol=str(item["symbol"]),
            side=Side(side_text) if side_text else Side.BUY,
            qty=size,
            entry_price=_field(item, entry_key),
            opened_at=_time(item, "createdTime") or now_ms,
            venue=venue,
            stop_loss=_price_or_none(item, "stopLoss"),
            take_profit=_price_or_none(item, "takeProfit"),
            leverage=_field(item, "leverage") or 1.0,
            mark_price=_field(item, "markPrice"),
            unrealized_pnl=_field(item, "unrealisedPnl", signed=True),
            realized_pnl=_field(item, "curRealisedPnl", signed=True),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _what("position", exc) from None


def _time(item: Mapping[str, Any], key: str, *, required: bool = False) -> int:
    """A time in ms (Bybit sends a string of digits); 0 when absent unless `required`."""
    value = item[key] if required else item.get(key)
    if value is None or value == "":
        return 0
    if type(value) is int and 0 <= value < 2**63:
        return value
    if type(value) is not str or not value.isdigit() or len(value) > 18:
        raise ValueError(f"{key}: {value!r} is not a time in ms")
    return int(value)


def position_seq(item: Mapping[str, Any]) -> int:
    """The position's own sequence number (newer is larger); 0 when absent."""
    seq = item.get("seq")
    return seq if type(seq) is int else 0


def decode_balance(account: Mapping[str, Any]) -> Balance:
    """The USDT coin of a UNIFIED account (wallet-balance list entry or `wallet` topic entry).

    In isolated margin the account-wide totals do not apply: available is the coin's
    walletBalance - totalPositionIM - totalOrderIM - locked - bonus (PROTOCOL.md)."""
    try:
        coin = next((c for c in account["coin"] if c.get("coin") == "USDT"), None)
        if coin is None:
            return Balance(equity=0.0, available=0.0, wallet=0.0)
        wallet = _required(coin, "walletBalance", signed=True)
        position_im = _field(coin, "totalPositionIM")
        available = wallet - position_im - _field(coin, "totalOrderIM") - _field(
            coin, "locked") - _field(coin, "bonus")
        return Balance(
            equity=_field(coin, "equity", signed=True),
            available=max(0.0, available),
            wallet=wallet,
            unrealized_pnl=_field(coin, "unrealisedPnl", signed=True),
            position_margin=position_im,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _what("wallet", exc) from None


def decode_margin_mode(result: Mapping[str, Any]) -> MarginMode:
    """`/v5/account/info` → the account-wide margin mode."""
    try:
        return MarginMode(result["marginMode"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _what("account info", exc) from None
