"""Bybit v5 JSON shapes the fake answers with, built from our model types.

Field names and string formatting follow ../shared/bybit/docs-examples: numbers are strings, an
empty stop-loss is "0", REST positions carry `avgPrice` where the private stream says `entryPrice`.
"""

from __future__ import annotations

from typing import Any

from densitytui.model import Balance, Fill, Order, OrderStatus, Position
from densitytui.venues.sim.instruments import SymbolSpec


def num(value: float | None) -> str:
    """A number as Bybit writes it: a plain decimal string, "0" for nothing."""
    if value is None:
        return "0"
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def instrument(spec: SymbolSpec) -> dict[str, Any]:
    """One `instruments-info` entry (shape of rest_market_instruments_info_linear_response)."""
    return {
        "symbol": spec.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": spec.symbol.removesuffix("USDT"),
        "quoteCoin": "USDT",
        "settleCoin": "USDT",
        "priceScale": str(spec.price_scale),
        "leverageFilter": {
            "minLeverage": "1", "maxLeverage": num(spec.max_leverage), "leverageStep": "0.01",
        },
        "priceFilter": {"minPrice": spec.tick, "maxPrice": "1999999.80", "tickSize": spec.tick},
        "lotSizeFilter": {
            "maxOrderQty": spec.max_mkt_qty,
            "minOrderQty": spec.min_qty,
            "qtyStep": spec.qty_step,
            "postOnlyMaxOrderQty": spec.max_mkt_qty,
            "maxMktOrderQty": spec.max_mkt_qty,
            "minNotionalValue": num(spec.min_notional),
        },
        "fundingInterval": 480,
        "isPreListing": False,
        "preListingInfo": None,
    }


# A USDC perpetual: listed under category=linear like on Bybit, but not ours to trade.
USDC_PERP: dict[str, Any] = {
    "symbol": "BTCPERP",
    "contractType": "LinearPerpetual",
    "status": "Trading",
    "baseCoin": "BTC",
    "quoteCoin": "USDC",
    "settleCoin": "USDC",
    "priceScale": "1",
    "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
    "priceFilter": {"minPrice": "0.5", "maxPrice": "1999999.0", "tickSize": "0.5"},
    "lotSizeFilter": {
        "maxOrderQty": "100.000", "minOrderQty": "0.001", "qtyStep": "0.001",
        "postOnlyMaxOrderQty": "100.000", "maxMktOrderQty": "100.000", "minNotionalValue": "1",
    },
    "fundingInterval": 480,
    "isPreListing": False,
    "preListingInfo": None,
}


def order(item: Order) -> dict[str, Any]:
    """An order as `/v5/order/realtime` and the private `order` topic show it."""
    untriggered = item.status is OrderStatus.UNTRIGGERED
    return {
        "category": "linear",
        "symbol": item.symbol,
        "orderId": item.order_id,
        "orderLinkId": item.order_link_id,
        "side": item.side.value,
        "orderType": item.order_type.value,
        "price": num(item.price),
        "qty": num(item.qty),
        "timeInForce": "IOC",
        "orderStatus": item.status.value,
        "positionIdx": 0,
        "avgPrice": num(item.avg_price) if item.filled_qty else "",
        "leavesQty": num(max(0.0, item.qty - item.filled_qty)) if untriggered else "0",
        "cumExecQty": num(item.filled_qty),
        "cumExecValue": num(item.filled_qty * item.avg_price),
        "cumExecFee": num(item.fee),
        "reduceOnly": item.reduce_only,
        "closeOnTrigger": untriggered,
        "stopOrderType": "StopLoss" if untriggered else "",
        "triggerPrice": num(item.stop_loss) if untriggered else "0",
        "stopLoss": "0" if untriggered else num(item.stop_loss),
        "takeProfit": "0",
        "slTriggerBy": "LastPrice" if item.stop_loss else "",
        "tpslMode": "Full" if item.stop_loss else "",
        "rejectReason": item.reject_reason or "EC_NoError",
        "createdTime": str(item.created_at),
        "updatedTime": str(item.updated_at or item.created_at),
    }


def execution(fill: Fill, order_id: str) -> dict[str, Any]:
    """A private `execution` entry."""
    return {
        "category": "linear",
        "symbol": fill.symbol,
        "execId": fill.exec_id,
        "execPrice": num(fill.price),
        "execQty": num(fill.qty),
        "execFee": num(fill.fee),
        "execValue": num(fill.price * fill.qty),
        "execType": "Trade",
        "feeRate": "0.00055",
        "orderId": order_id,
        "orderLinkId": fill.order_link_id,
        "orderType": "Market",
        "side": fill.side.value,
        "execTime": str(fill.ts),
        "isMaker": fill.is_maker,
        "feeCurrency": "USDT",
    }


def position(item: Position, *, rest: bool, seq: int) -> dict[str, Any]:
    """A position: REST says `avgPrice`, the private stream `entryPrice`; flat is size "0"."""
    flat = item.closed_at is not None or item.qty == 0
    price_key = "avgPrice" if rest else "entryPrice"
    return {
        "category": "linear",
        "positionIdx": 0,
        "symbol": item.symbol,
        "side": "" if flat else item.side.value,
        "size": "0" if flat else num(item.qty),
        price_key: "0" if flat else num(item.entry_price),
        "leverage": num(item.leverage),
        "markPrice": num(item.mark_price),
        "positionValue": "0" if flat else num(item.qty * item.entry_price),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": num(item.stop_loss),
        "trailingStop": "0",
        "unrealisedPnl": num(item.unrealized_pnl),
        "curRealisedPnl": num(item.realized_pnl - item.fees),
        "positionStatus": "Normal",
        "createdTime": str(item.opened_at),
        "updatedTime": str(item.closed_at or item.opened_at),
        "seq": seq,
        "isReduceOnly": False,
    }


def wallet(balance: Balance) -> dict[str, Any]:
    """One UNIFIED account with its USDT coin, as wallet-balance and the `wallet` topic show it."""
    locked = balance.wallet - balance.available
    return {
        "accountType": "UNIFIED",
        "totalEquity": num(balance.equity),
        "totalWalletBalance": num(balance.wallet),
        "totalAvailableBalance": num(balance.available),
        "totalPerpUPL": num(balance.unrealized_pnl),
        "totalInitialMargin": num(locked),
        "coin": [{
            "coin": "USDT",
            "equity": num(balance.equity),
            "walletBalance": num(balance.wallet),
            "unrealisedPnl": num(balance.unrealized_pnl),
            "totalPositionIM": num(locked),
            "totalOrderIM": "0",
            "locked": "0",
            "bonus": "0",
            "availableToWithdraw": num(balance.available),
            "cumRealisedPnl": "0",
        }],
    }
