"""Bybit v5 account payloads (REST results and private-stream entries) → model types.

The shapes are those of ../shared/bybit/docs-examples. Numbers arrive as strings; an empty
string or "0" stop-loss means none. REST positions say `avgPrice`, the private stream
`entryPrice`. Anything else raises `DecodeError` naming the payload and the field.
"""

from __future__ import annotations

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


def _float(value: Any) -> float:
    return float(value) if value not in (None, "") else 0.0


def _price_or_none(value: Any) -> float | None:
    number = _float(value)
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
        stop = item.get("triggerPrice") if conditional else item.get("stopLoss")
        filled = _float(item.get("cumExecQty"))
        reason = str(item.get("rejectReason") or "")
        return Order(
            order_link_id=str(item.get("orderLinkId") or ""),
            symbol=str(item["symbol"]),
            side=Side(item["side"]),
            qty=_float(item["qty"]),
            order_type=order_type,
            status=status,
            created_at=int(item.get("createdTime") or 0),
            order_id=str(item.get("orderId") or ""),
            price=_price_or_none(item.get("price")) if order_type is OrderType.LIMIT else None,
            stop_loss=_price_or_none(stop),
            reduce_only=bool(item.get("reduceOnly", False)),
            filled_qty=filled,
            avg_price=_float(item.get("avgPrice")) if filled else 0.0,
            fee=_float(item.get("cumExecFee")),
            reject_reason="" if reason == "EC_NoError" else reason,
            updated_at=int(item.get("updatedTime") or 0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _what("order", exc) from None


def decode_execution(item: Mapping[str, Any]) -> Fill:
    """One `execution` entry (trades only; funding and settlement are not fills)."""
    try:
        return Fill(
            exec_id=str(item["execId"]),
            order_link_id=str(item.get("orderLinkId") or ""),
            symbol=str(item["symbol"]),
            side=Side(item["side"]),
            price=float(item["execPrice"]),
            qty=float(item["execQty"]),
            fee=_float(item.get("execFee")),
            ts=int(item["execTime"]),
            is_maker=bool(item.get("isMaker", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _what("execution", exc) from None


def decode_position(item: Mapping[str, Any], venue: str, now_ms: int) -> Position:
    """One position (REST or stream); size "0" is flat and comes back with `qty == 0`."""
    try:
        size = _float(item["size"])
        side_text = item.get("side") or ""
        entry = item.get("avgPrice", item.get("entryPrice"))
        return Position(
            symbol=str(item["symbol"]),
            side=Side(side_text) if side_text else Side.BUY,
            qty=size,
            entry_price=_float(entry),
            opened_at=int(item.get("createdTime") or now_ms),
            venue=venue,
            stop_loss=_price_or_none(item.get("stopLoss")),
            take_profit=_price_or_none(item.get("takeProfit")),
            leverage=_float(item.get("leverage")) or 1.0,
            mark_price=_float(item.get("markPrice")),
            unrealized_pnl=_float(item.get("unrealisedPnl")),
            realized_pnl=_float(item.get("curRealisedPnl")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _what("position", exc) from None


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
        wallet = _float(coin["walletBalance"])
        position_im = _float(coin.get("totalPositionIM"))
        available = wallet - position_im - _float(coin.get("totalOrderIM")) - _float(
            coin.get("locked")) - _float(coin.get("bonus"))
        return Balance(
            equity=_float(coin.get("equity")),
            available=max(0.0, available),
            wallet=wallet,
            unrealized_pnl=_float(coin.get("unrealisedPnl")),
            position_margin=position_im,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _what("wallet", exc) from None


def decode_margin_mode(result: Mapping[str, Any]) -> MarginMode:
    """`/v5/account/info` → the account-wide margin mode."""
    try:
        return MarginMode(result["marginMode"])
    except (KeyError, ValueError) as exc:
        raise _what("account info", exc) from None
