"""Rows as the database holds them, and their conversion to and from the model types.

Writing is cheap: a record becomes a dict of column values without validation. Reading validates:
each row goes through a pydantic row model before it becomes a model type, so a row that was
edited by hand or written by a broken version fails with the table, the key and the field named,
instead of surfacing later as a wrong number on the screen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Json, ValidationError

from densitytui.model import (
    AppEvent,
    BookSide,
    CheckOutcome,
    CoinParameters,
    Decision,
    Density,
    DensityEvent,
    DensityEventKind,
    DensityOutcome,
    Fill,
    Instrument,
    MarketStats,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionEvent,
    PositionEventKind,
    Side,
    Signal,
    SignalKind,
    Trend,
)
from densitytui.storage.base import CorruptRecord, InvalidRecord

Values = dict[str, object]


class Row(BaseModel):
    """One row of `TABLE`; its fields are the columns read back, `KEY` names the row in errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TABLE: ClassVar[str]
    KEY: ClassVar[str]

    @classmethod
    def columns(cls) -> str:
        return ", ".join(cls.model_fields)


RowT = TypeVar("RowT", bound=Row)


def read_row(model: type[RowT], row: Mapping[str, Any]) -> RowT:
    """Validate a row read back; `CorruptRecord` names the table, key and every bad field."""
    try:
        return model.model_validate(dict(row))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']} "
            f"(got {error.get('input')!r})"
            for error in exc.errors()
        )
        key = row.get(model.KEY)
        raise CorruptRecord(f"{model.TABLE} row {model.KEY}={key!r}: {problems}") from None


def flat_values(record: Any, skip: str = "") -> Values:
    """Columns of a dataclass whose fields map one to one onto a table: enums by their value."""
    values: Values = {}
    for field in fields(record):
        if field.name != skip:
            value = getattr(record, field.name)
            values[field.name] = value.value if isinstance(value, Enum) else value
    return values


def to_json(value: object, what: str) -> str:
    """Strict JSON text: NaN, infinities and objects JSON cannot hold are refused, not mangled."""
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"{what} is not JSON: {exc}") from None


class SignalRow(Row):
    TABLE = "signals"
    KEY = "id"

    id: str
    symbol: str
    kind: SignalKind
    side: Side
    entry_price: float
    stop_loss: float
    density_side: BookSide
    density_price: float
    created_at: int
    ttl_ms: int
    reasons: Json[list[str]]
    new_territory: bool
    density_id: int

    def to_model(self) -> Signal:
        return Signal(
            id=self.id, symbol=self.symbol, kind=self.kind, side=self.side,
            entry_price=self.entry_price, stop_loss=self.stop_loss,
            density_side=self.density_side, density_price=self.density_price,
            created_at=self.created_at, ttl_ms=self.ttl_ms, reasons=tuple(self.reasons),
            new_territory=self.new_territory, density_id=self.density_id,
        )


def signal_values(signal: Signal) -> Values:
    return {
        "id": signal.id, "symbol": signal.symbol, "kind": signal.kind.value,
        "side": signal.side.value, "entry_price": signal.entry_price,
        "stop_loss": signal.stop_loss, "density_side": signal.density_side.value,
        "density_price": signal.density_price, "created_at": signal.created_at,
        "ttl_ms": signal.ttl_ms, "reasons": to_json(list(signal.reasons), "signal reasons"),
        "new_territory": signal.new_territory, "density_id": signal.density_id,
    }


class DecisionRow(Row):
    TABLE = "decisions"
    KEY = "id"

    id: int
    signal_id: str
    ts: int
    outcome: str
    qty: float
    checks: Json[list[tuple[str, bool, str]]]

    def to_model(self) -> Decision:
        return Decision(
            signal_id=self.signal_id, ts=self.ts, outcome=self.outcome, qty=self.qty,
            checks=tuple(CheckOutcome(*check) for check in self.checks),
            id=self.id,
        )


def decision_values(decision: Decision) -> Values:
    checks = [[check.name, check.passed, check.detail] for check in decision.checks]
    return {
        "signal_id": decision.signal_id, "ts": decision.ts, "outcome": decision.outcome,
        "qty": decision.qty, "checks": to_json(checks, "decision checks"),
    }


class OrderRow(Row):
    TABLE = "orders"
    KEY = "order_link_id"

    order_link_id: str
    symbol: str
    side: Side
    qty: float
    order_type: OrderType
    status: OrderStatus
    created_at: int
    order_id: str
    price: float | None
    stop_loss: float | None
    reduce_only: bool
    filled_qty: float
    avg_price: float
    fee: float
    reject_code: int | None
    reject_reason: str
    updated_at: int

    def to_model(self) -> Order:
        return Order(**self.model_dump())


def order_values(order: Order, venue: str) -> Values:
    return {**flat_values(order), "venue": venue}


class FillRow(Row):
    TABLE = "fills"
    KEY = "exec_id"

    exec_id: str
    order_link_id: str
    symbol: str
    side: Side
    price: float
    qty: float
    fee: float
    ts: int
    is_maker: bool

    def to_model(self) -> Fill:
        return Fill(**self.model_dump())


def fill_values(fill: Fill) -> Values:
    return flat_values(fill)


class PositionRow(Row):
    TABLE = "positions"
    KEY = "id"

    id: int
    venue: str
    symbol: str
    side: Side
    qty: float
    entry_price: float
    stop_loss: float | None
    take_profit: float | None
    leverage: float
    mark_price: float
    unrealized_pnl: float
    realized_pnl: float
    fees: float
    opened_at: int
    closed_at: int | None
    exit_price: float | None
    exit_reason: str
    signal_id: str

    def to_model(self) -> Position:
        return Position(**self.model_dump())


def position_values(position: Position) -> Values:
    """The id is the database's to give."""
    return flat_values(position, skip="id")


class PositionEventRow(Row):
    TABLE = "position_events"
    KEY = "id"

    id: int
    position_id: int
    kind: PositionEventKind
    ts: int
    old_value: float | None
    new_value: float | None
    note: str

    def to_model(self) -> PositionEvent:
        return PositionEvent(**self.model_dump())


def position_event_values(event: PositionEvent) -> Values:
    """The id is the database's to give."""
    return flat_values(event, skip="id")


class DensityRow(Row):
    TABLE = "densities"
    KEY = "id"

    id: int
    ts: int
    kind: DensityEventKind
    density_id: int
    symbol: str
    side: BookSide
    price: float
    size: float
    peak_size: float
    eaten: float
    pulled: float
    outcome: DensityOutcome | None
    first_seen: int
    last_seen: int
    confirmed_at: int | None
    tested_at: int | None
    levels: int
    price_low: float
    price_high: float
    frozen: bool

    def to_model(self) -> DensityEvent:
        density = Density(
            symbol=self.symbol, side=self.side, price=self.price, size=self.size,
            peak_size=self.peak_size, first_seen=self.first_seen, last_seen=self.last_seen,
            confirmed_at=self.confirmed_at, eaten=self.eaten, pulled=self.pulled,
            levels=self.levels, id=self.density_id, tested_at=self.tested_at,
            price_low=self.price_low, price_high=self.price_high, frozen=self.frozen,
        )
        return DensityEvent(kind=self.kind, density=density, ts=self.ts, outcome=self.outcome)


def density_event_values(event: DensityEvent) -> Values:
    """`erosion` and `spoof` are stored beside the raw figures so queries can filter on them."""
    density = event.density
    return {
        "ts": event.ts, "kind": event.kind.value, "density_id": density.id,
        "symbol": density.symbol,
        "side": density.side.value, "price": density.price, "size": density.size,
        "peak_size": density.peak_size, "erosion": density.erosion, "eaten": density.eaten,
        "pulled": density.pulled, "spoof": event.outcome is DensityOutcome.SPOOF,
        "outcome": event.outcome.value if event.outcome is not None else None,
        "first_seen": density.first_seen, "last_seen": density.last_seen,
        "confirmed_at": density.confirmed_at, "tested_at": density.tested_at,
        "levels": density.levels, "price_low": density.price_low,
        "price_high": density.price_high, "frozen": density.frozen,
    }


class EventRow(Row):
    TABLE = "events"
    KEY = "id"

    id: int
    ts: int
    kind: str
    symbol: str
    message: str
    data: Json[dict[str, Any]]

    def to_model(self) -> AppEvent:
        return AppEvent(
            ts=self.ts, kind=self.kind, message=self.message, symbol=self.symbol, data=self.data
        )


def event_values(event: AppEvent) -> Values:
    return {
        "ts": event.ts, "kind": event.kind, "symbol": event.symbol, "message": event.message,
        "data": to_json(event.data, f"data of the {event.kind!r} event"),
    }


class MarketStatsRow(Row):
    TABLE = "market_stats"
    KEY = "symbol"

    symbol: str
    ts: int
    last_price: float
    change_24h_pct: float
    turnover_24h: float
    volume_24h: float
    trend: Trend
    book_pressure: float

    def to_model(self) -> MarketStats:
        return MarketStats(**self.model_dump())


def market_stats_values(sample: MarketStats) -> Values:
    return flat_values(sample)


class CoinParametersRow(Row):
    TABLE = "coin_parameters"
    KEY = "symbol"

    symbol: str
    tick_size: float
    qty_step: float
    min_qty: float
    min_notional: float
    max_market_qty: float
    status: str
    contract_type: str
    settle_coin: str
    max_leverage: float
    min_density_notional_usdt: float
    thresholds: Json[dict[str, float]]
    updated_at: int

    def to_model(self) -> CoinParameters:
        instrument = Instrument(
            symbol=self.symbol, tick_size=self.tick_size, qty_step=self.qty_step,
            min_qty=self.min_qty, min_notional=self.min_notional,
            max_market_qty=self.max_market_qty, status=self.status,
            contract_type=self.contract_type, settle_coin=self.settle_coin,
            max_leverage=self.max_leverage,
        )
        return CoinParameters(
            instrument=instrument, min_density_notional_usdt=self.min_density_notional_usdt,
            updated_at=self.updated_at, thresholds=self.thresholds,
        )


def coin_parameters_values(parameters: CoinParameters) -> Values:
    instrument = parameters.instrument
    return {
        "symbol": instrument.symbol, "tick_size": instrument.tick_size,
        "qty_step": instrument.qty_step, "min_qty": instrument.min_qty,
        "min_notional": instrument.min_notional, "max_market_qty": instrument.max_market_qty,
        "status": instrument.status, "contract_type": instrument.contract_type,
        "settle_coin": instrument.settle_coin, "max_leverage": instrument.max_leverage,
        "min_density_notional_usdt": parameters.min_density_notional_usdt,
        "thresholds": to_json(parameters.thresholds, f"thresholds of {instrument.symbol}"),
        "updated_at": parameters.updated_at,
    }


class StateRow(Row):
    TABLE = "state"
    KEY = "key"

    key: str
    value: Json[Any]
