"""The store written once in SQL that SQLite and PostgreSQL both accept.

Backends differ only in how they open a transaction (`Session`) and in a `Dialect`: column types
for the migrations, row locking, and how to list tables. Statements use `?` placeholders; the
PostgreSQL session turns them into `$1, $2...`. Upserts (`ON CONFLICT ... DO UPDATE`), partial
indexes and `RETURNING` exist in both (SQLite since 3.35), so every query here is shared and both
backends behave identically by construction.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import JsonValue

from densitytui.model import (
    FINAL_ORDER_STATUSES,
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
    PositionEventKind,
    Signal,
    order_status_rank,
)
from densitytui.storage.base import (
    DAY_MS,
    OPEN_ORDER_STATUSES,
    RETENTION_TABLES,
    TABLES,
    DuplicateRecord,
    InvalidRecord,
    PositionClosed,
    RecordNotFound,
    SchemaTooNew,
    Store,
    StoreInfo,
)
from densitytui.storage.migrations import LATEST_VERSION, MIGRATIONS
from densitytui.storage.records import (
    CoinParametersRow,
    DecisionRow,
    DensityRow,
    EventRow,
    FillRow,
    MarketStatsRow,
    OrderRow,
    PositionEventRow,
    PositionRow,
    SignalRow,
    StateRow,
    Values,
    coin_parameters_values,
    decision_values,
    density_event_values,
    event_values,
    fill_values,
    market_stats_values,
    order_values,
    position_event_values,
    position_values,
    read_row,
    signal_values,
    to_json,
)
from densitytui.storage.records import Row as RecordRow

# Every time column the engine writes (each MAX reads one end of an index, or a small table).
TIME_COLUMNS = (
    ("signals", "created_at"), ("decisions", "ts"), ("orders", "updated_at"), ("fills", "ts"),
    ("positions", "opened_at"), ("positions", "closed_at"), ("position_events", "ts"),
    ("events", "ts"), ("densities", "ts"), ("market_stats", "ts"), ("state", "updated_at"),
)
LATEST_TIME = "SELECT MAX(t) AS t FROM (" + " UNION ALL ".join(
    f"SELECT MAX({column}) AS t FROM {table}" for table, column in TIME_COLUMNS
) + ") AS times"

Row = Mapping[str, Any]

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version {bigint} PRIMARY KEY, name TEXT NOT NULL, applied_at {bigint} NOT NULL)"
)


class Session(ABC):
    """Statements inside one open transaction."""

    @abstractmethod
    async def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run one statement; return the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement once per row of arguments."""

    @abstractmethod
    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """Run one statement and return its rows as column-name mappings."""

    async def fetchrow(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        rows = await self.fetch(sql, args)
        return rows[0] if rows else None


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    types: Mapping[str, str]
    """Fills the placeholders of the migration files."""
    for_update: str
    """Appended to a SELECT that reads a row it will change (SQLite locks the whole file)."""
    list_tables: str
    schema_lock: str | None
    """Serialises concurrent migrations where the transaction alone does not."""


def _insert(table: str, values: Values, suffix: str = "") -> tuple[str, list[object]]:
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}){suffix}", list(values.values())


def _upsert(table: str, values: Values, keys: tuple[str, ...]) -> str:
    sql, _ = _insert(table, values)
    changes = ", ".join(f"{column} = excluded.{column}" for column in values if column not in keys)
    return f"{sql} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {changes}"


def _goes_backwards(stored: OrderStatus, new: OrderStatus | None) -> bool:
    """A final status never changes; any other never moves to a lower rank."""
    if new is None or new is stored:
        return False
    return stored in FINAL_ORDER_STATUSES or order_status_rank(new) < order_status_rank(stored)


def _check_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return limit


class SqlStore(Store):
    """Every store method, in SQL both backends accept; subclasses open sessions."""

    dialect: ClassVar[Dialect]

    def __init__(self, retention_days: int) -> None:
        self.retention_days = retention_days

    @abstractmethod
    def _session(self, write: bool) -> AbstractAsyncContextManager[Session]:
        """A transaction: committed when the block ends, rolled back when it raises."""

    async def _notes(self, session: Session) -> tuple[str, ...]:
        """Backend details worth showing in `db info`."""
        return ()

    async def _after_migrate(self) -> None:
        """Backend-specific schema work that follows the versioned migrations."""

    async def _read_all(
        self, row_model: type[RecordRow], sql: str, args: Sequence[object] = ()
    ) -> list[Any]:
        """The model objects of every row a query returns, each validated on the way."""
        async with self._session(write=False) as session:
            rows = await session.fetch(sql, args)
        return [read_row(row_model, row).to_model() for row in rows]

    async def _read_one(
        self, row_model: type[RecordRow], sql: str, args: Sequence[object] = ()
    ) -> Any | None:
        """The model object of the row a query returns, or None when there is none."""
        async with self._session(write=False) as session:
            row = await session.fetchrow(sql, args)
        return read_row(row_model, row).to_model() if row is not None else None

    # ---- schema

    async def _tables(self, session: Session) -> set[str]:
        return {row["name"] for row in await session.fetch(self.dialect.list_tables)}

    async def _version(self, session: Session) -> int:
        if "schema_version" not in await self._tables(session):
            return 0
        row = await session.fetchrow("SELECT MAX(version) AS version FROM schema_version")
        return int(row["version"]) if row and row["version"] is not None else 0

    async def migrate(self) -> list[int]:
        applied: list[int] = []
        for migration in MIGRATIONS:
            async with self._session(write=True) as session:
                if self.dialect.schema_lock:
                    await session.execute(self.dialect.schema_lock)
                await session.execute(SCHEMA_VERSION_TABLE.format_map(self.dialect.types))
                current = await self._version(session)
                if current > LATEST_VERSION:
                    raise SchemaTooNew(
                        f"{self.location}: schema version {current} is newer than this densitytui "
                        f"knows ({LATEST_VERSION}); upgrade densitytui"
                    )
                if migration.version <= current:
                    continue
                for statement in migration.statements(self.dialect.types):
                    await session.execute(statement)
                await session.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time_ns() // 1_000_000),
                )
            applied.append(migration.version)
        await self._after_migrate()
        return applied

    async def schema_version(self) -> int:
        async with self._session(write=False) as session:
            return await self._version(session)

    async def info(self) -> StoreInfo:
        async with self._session(write=False) as session:
            tables = await self._tables(session)
            counts: dict[str, int] = {}
            for table in TABLES:
                if table in tables:
                    row = await session.fetchrow(f"SELECT COUNT(*) AS n FROM {table}")
                    counts[table] = int(row["n"]) if row else 0
            return StoreInfo(
                backend=self.backend,
                location=self.location,
                schema_version=await self._version(session),
                latest_version=LATEST_VERSION,
                row_counts=counts,
                notes=await self._notes(session),
            )

    async def latest_time_ms(self) -> int | None:
        async with self._session(write=False) as session:
            row = await session.fetchrow(LATEST_TIME)
        return None if row is None or row["t"] is None else int(row["t"])

    async def prune(self, now_ms: int) -> dict[str, int]:
        cutoff = now_ms - self.retention_days * DAY_MS
        async with self._session(write=True) as session:
            return {
                table: await session.execute(f"DELETE FROM {table} WHERE ts < ?", (cutoff,))
                for table in RETENTION_TABLES
            }

    # ---- signals

    async def save_signal(self, signal: Signal) -> bool:
        sql, args = _insert(
            "signals", signal_values(signal), " ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        async with self._session(write=True) as session:
            return await session.fetchrow(sql, args) is not None

    async def signal(self, signal_id: str) -> Signal | None:
        sql = f"SELECT {SignalRow.columns()} FROM signals WHERE id = ?"
        return await self._read_one(SignalRow, sql, (signal_id,))

    async def add_decision(self, decision: Decision) -> int:
        sql, args = _insert("decisions", decision_values(decision), " RETURNING id")
        async with self._session(write=True) as session:
            row = await session.fetchrow(sql, args)
        assert row is not None
        return int(row["id"])

    async def decisions(self, signal_id: str | None = None, limit: int = 100) -> list[Decision]:
        if signal_id is not None:
            sql = (
                f"SELECT {DecisionRow.columns()} FROM decisions WHERE signal_id = ? "
                "ORDER BY ts, id LIMIT ?"
            )
            return await self._read_all(DecisionRow, sql, (signal_id, _check_limit(limit)))
        sql = f"SELECT {DecisionRow.columns()} FROM decisions ORDER BY ts DESC, id DESC LIMIT ?"
        return await self._read_all(DecisionRow, sql, (_check_limit(limit),))

    async def recent_signals(self, limit: int = 50, symbol: str | None = None) -> list[Signal]:
        where, args = ("WHERE symbol = ? ", [symbol]) if symbol is not None else ("", [])
        sql = (
            f"SELECT {SignalRow.columns()} FROM signals {where}"
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        return await self._read_all(SignalRow, sql, [*args, _check_limit(limit)])

    # ---- orders and fills

    async def insert_order(self, order: Order, venue: str) -> None:
        sql, args = _insert(
            "orders",
            order_values(order, venue),
            " ON CONFLICT (order_link_id) DO NOTHING RETURNING order_link_id",
        )
        async with self._session(write=True) as session:
            if await session.fetchrow(sql, args) is None:
                raise DuplicateRecord(f"order_link_id {order.order_link_id!r} is stored already")

    async def insert_orders(self, orders: Sequence[Order], venue: str) -> None:
        async with self._session(write=True) as session:
            for order in orders:
                sql, args = _insert(
                    "orders",
                    order_values(order, venue),
                    " ON CONFLICT (order_link_id) DO NOTHING RETURNING order_link_id",
                )
                if await session.fetchrow(sql, args) is None:
                    raise DuplicateRecord(
                        f"order_link_id {order.order_link_id!r} is stored already"
                    )

    async def record_entry(
        self, signal: Signal, decision: Decision, order: Order, venue: str,
    ) -> None:
        signal_sql, signal_args = _insert(
            "signals", signal_values(signal), " ON CONFLICT (id) DO NOTHING"
        )
        decision_sql, decision_args = _insert("decisions", decision_values(decision))
        order_sql, order_args = _insert(
            "orders",
            order_values(order, venue),
            " ON CONFLICT (order_link_id) DO NOTHING RETURNING order_link_id",
        )
        async with self._session(write=True) as session:
            await session.execute(signal_sql, signal_args)
            await session.execute(decision_sql, decision_args)
            if await session.fetchrow(order_sql, order_args) is None:
                raise DuplicateRecord(f"order_link_id {order.order_link_id!r} is stored already")

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
        given = {
            "status": status.value if status is not None else None,
            "order_id": order_id, "filled_qty": filled_qty, "avg_price": avg_price, "fee": fee,
            "reject_code": reject_code, "reject_reason": reject_reason,
        }
        changes = {column: value for column, value in given.items() if value is not None}
        changes["updated_at"] = updated_at
        assignments = ", ".join(f"{column} = ?" for column in changes)
        select = f"SELECT {OrderRow.columns()} FROM orders WHERE order_link_id = ?"
        update = (
            f"UPDATE orders SET {assignments} WHERE order_link_id = ? "
            f"RETURNING {OrderRow.columns()}"
        )
        async with self._session(write=True) as session:
            row = await session.fetchrow(select + self.dialect.for_update, (order_link_id,))
            if row is None:
                raise RecordNotFound(f"no order with order_link_id {order_link_id!r}")
            stored = read_row(OrderRow, row).to_model()
            if _goes_backwards(stored.status, status):
                return stored
            row = await session.fetchrow(update, [*changes.values(), order_link_id])
        assert row is not None
        return read_row(OrderRow, row).to_model()

    async def order(self, order_link_id: str) -> Order | None:
        sql = f"SELECT {OrderRow.columns()} FROM orders WHERE order_link_id = ?"
        return await self._read_one(OrderRow, sql, (order_link_id,))

    async def open_orders(self, venue: str | None = None) -> list[Order]:
        statuses = [status.value for status in OPEN_ORDER_STATUSES]
        marks = ", ".join("?" for _ in statuses)
        venue_filter, args = ("AND venue = ? ", [venue]) if venue is not None else ("", [])
        sql = (
            f"SELECT {OrderRow.columns()} FROM orders WHERE status IN ({marks}) {venue_filter}"
            "ORDER BY created_at, order_link_id"
        )
        return await self._read_all(OrderRow, sql, [*statuses, *args])

    async def add_fill(self, fill: Fill) -> bool:
        sql, args = _insert(
            "fills", fill_values(fill), " ON CONFLICT (exec_id) DO NOTHING RETURNING exec_id"
        )
        async with self._session(write=True) as session:
            return await session.fetchrow(sql, args) is not None

    async def fills(self, order_link_id: str) -> list[Fill]:
        sql = (
            f"SELECT {FillRow.columns()} FROM fills WHERE order_link_id = ? "
            "ORDER BY ts, exec_id"
        )
        return await self._read_all(FillRow, sql, (order_link_id,))

    async def recent_fills(self, limit: int = 100) -> list[Fill]:
        sql = f"SELECT {FillRow.columns()} FROM fills ORDER BY ts DESC, exec_id DESC LIMIT ?"
        return await self._read_all(FillRow, sql, (_check_limit(limit),))

    # ---- positions

    async def _add_event(self, session: Session, event: PositionEvent) -> PositionEvent:
        sql, args = _insert("position_events", position_event_values(event), " RETURNING id")
        row = await session.fetchrow(sql, args)
        assert row is not None, "INSERT ... RETURNING gives a row"
        return PositionEvent(
            event.position_id, event.kind, event.ts, event.old_value, event.new_value,
            event.note, int(row["id"]),
        )

    async def _open_row(self, session: Session, position_id: int) -> PositionRow:
        """The position, locked for change; it must exist and be open."""
        sql = f"SELECT {PositionRow.columns()} FROM positions WHERE id = ?{self.dialect.for_update}"
        row = await session.fetchrow(sql, (position_id,))
        if row is None:
            raise RecordNotFound(f"no position with id {position_id}")
        position = read_row(PositionRow, row)
        if position.closed_at is not None:
            raise PositionClosed(f"position {position_id} was closed at {position.closed_at}")
        return position

    async def _update_position(
        self, session: Session, position_id: int, changes: Values
    ) -> PositionRow:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        sql = f"UPDATE positions SET {assignments} WHERE id = ? RETURNING {PositionRow.columns()}"
        row = await session.fetchrow(sql, [*changes.values(), position_id])
        assert row is not None, "the row was read under lock in the same transaction"
        return read_row(PositionRow, row)

    async def open_position(self, position: Position) -> int:
        if position.id is not None:
            raise InvalidRecord(f"position {position.id} is stored already; update it instead")
        if position.closed_at is not None:
            raise InvalidRecord("open_position takes an open position (closed_at is set)")
        sql, args = _insert("positions", position_values(position), " RETURNING id")
        async with self._session(write=True) as session:
            row = await session.fetchrow(sql, args)
            assert row is not None, "INSERT ... RETURNING gives a row"
            position_id = int(row["id"])
            opened = PositionEvent(
                position_id, PositionEventKind.OPENED, position.opened_at,
                new_value=position.entry_price, note=f"{position.side.value} {position.qty:g}",
            )
            await self._add_event(session, opened)
            if position.stop_loss is not None:
                await self._add_event(session, PositionEvent(
                    position_id, PositionEventKind.STOP_LOSS_SET, position.opened_at,
                    new_value=position.stop_loss,
                ))
            if position.take_profit is not None:
                await self._add_event(session, PositionEvent(
                    position_id, PositionEventKind.TAKE_PROFIT_SET, position.opened_at,
                    new_value=position.take_profit,
                ))
        return position_id

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
        given: Values = {
            "qty": qty, "entry_price": entry_price, "mark_price": mark_price,
            "unrealized_pnl": unrealized_pnl, "realized_pnl": realized_pnl, "fees": fees,
        }
        changes = {column: value for column, value in given.items() if value is not None}
        async with self._session(write=True) as session:
            before = await self._open_row(session, position_id)
            if not changes:
                return before.to_model()
            after = await self._update_position(session, position_id, changes)
            if qty is not None and qty != before.qty:
                await self._add_event(session, PositionEvent(
                    position_id, PositionEventKind.QTY_CHANGED, ts, before.qty, qty
                ))
        return after.to_model()

    async def set_stop_loss(
        self, position_id: int, stop_loss: float | None, ts: int, note: str = ""
    ) -> PositionEvent | None:
        async with self._session(write=True) as session:
            before = await self._open_row(session, position_id)
            if before.stop_loss == stop_loss:
                return None
            if before.stop_loss is None:
                kind = PositionEventKind.STOP_LOSS_SET
            elif stop_loss is None:
                kind = PositionEventKind.STOP_LOSS_REMOVED
            else:
                kind = PositionEventKind.STOP_LOSS_MOVED
            await self._update_position(session, position_id, {"stop_loss": stop_loss})
            return await self._add_event(
                session, PositionEvent(position_id, kind, ts, before.stop_loss, stop_loss, note)
            )

    async def set_take_profit(
        self, position_id: int, take_profit: float | None, ts: int, note: str = ""
    ) -> PositionEvent | None:
        async with self._session(write=True) as session:
            before = await self._open_row(session, position_id)
            if before.take_profit == take_profit:
                return None
            await self._update_position(session, position_id, {"take_profit": take_profit})
            return await self._add_event(session, PositionEvent(
                position_id, PositionEventKind.TAKE_PROFIT_SET, ts, before.take_profit,
                take_profit, note,
            ))

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
        changes: Values = {
            "closed_at": closed_at, "exit_price": exit_price, "exit_reason": exit_reason,
            "realized_pnl": realized_pnl, "unrealized_pnl": 0.0,
        }
        if fees is not None:
            changes["fees"] = fees
        async with self._session(write=True) as session:
            await self._open_row(session, position_id)
            after = await self._update_position(session, position_id, changes)
            await self._add_event(session, PositionEvent(
                position_id, PositionEventKind.CLOSED, closed_at, new_value=exit_price,
                note=exit_reason,
            ))
        return after.to_model()

    async def add_position_event(self, event: PositionEvent) -> int:
        async with self._session(write=True) as session:
            exists = await session.fetchrow(
                "SELECT id FROM positions WHERE id = ?", (event.position_id,)
            )
            if exists is None:
                raise RecordNotFound(f"no position with id {event.position_id}")
            stored = await self._add_event(session, event)
        assert stored.id is not None
        return stored.id

    async def position(self, position_id: int) -> Position | None:
        sql = f"SELECT {PositionRow.columns()} FROM positions WHERE id = ?"
        return await self._read_one(PositionRow, sql, (position_id,))

    async def open_positions(self, venue: str | None = None) -> list[Position]:
        venue_filter, args = ("AND venue = ? ", [venue]) if venue is not None else ("", [])
        sql = (
            f"SELECT {PositionRow.columns()} FROM positions WHERE closed_at IS NULL "
            f"{venue_filter}ORDER BY opened_at, id"
        )
        return await self._read_all(PositionRow, sql, args)

    async def closed_positions(self, limit: int = 50, venue: str | None = None) -> list[Position]:
        venue_filter, args = ("AND venue = ? ", [venue]) if venue is not None else ("", [])
        sql = (
            f"SELECT {PositionRow.columns()} FROM positions WHERE closed_at IS NOT NULL "
            f"{venue_filter}ORDER BY closed_at DESC, id DESC LIMIT ?"
        )
        return await self._read_all(PositionRow, sql, [*args, _check_limit(limit)])

    async def position_events(self, position_id: int) -> list[PositionEvent]:
        sql = (
            f"SELECT {PositionEventRow.columns()} FROM position_events WHERE position_id = ? "
            "ORDER BY ts, id"
        )
        return await self._read_all(PositionEventRow, sql, (position_id,))

    # ---- market history

    async def add_density_events(self, events: Sequence[DensityEvent]) -> None:
        if not events:
            return
        rows = [density_event_values(event) for event in events]
        sql, _ = _insert("densities", rows[0])
        async with self._session(write=True) as session:
            await session.executemany(sql, [list(row.values()) for row in rows])

    async def density_events(
        self, limit: int = 100, symbol: str | None = None
    ) -> list[DensityEvent]:
        where, args = ("WHERE symbol = ? ", [symbol]) if symbol is not None else ("", [])
        sql = (
            f"SELECT {DensityRow.columns()} FROM densities {where}"
            "ORDER BY ts DESC, id DESC LIMIT ?"
        )
        return await self._read_all(DensityRow, sql, [*args, _check_limit(limit)])

    async def add_market_stats(self, samples: Sequence[MarketStats]) -> None:
        if not samples:
            return
        rows = [market_stats_values(sample) for sample in samples]
        sql = _upsert("market_stats", rows[0], ("symbol", "ts"))
        async with self._session(write=True) as session:
            await session.executemany(sql, [list(row.values()) for row in rows])

    async def market_stats(self, symbol: str, limit: int = 100) -> list[MarketStats]:
        sql = (
            f"SELECT {MarketStatsRow.columns()} FROM market_stats WHERE symbol = ? "
            "ORDER BY ts DESC LIMIT ?"
        )
        return await self._read_all(MarketStatsRow, sql, (symbol, _check_limit(limit)))

    async def save_coin_parameters(self, parameters: CoinParameters) -> None:
        values = coin_parameters_values(parameters)
        async with self._session(write=True) as session:
            await session.execute(
                _upsert("coin_parameters", values, ("symbol",)), list(values.values())
            )

    async def coin_parameters(self, symbol: str) -> CoinParameters | None:
        sql = f"SELECT {CoinParametersRow.columns()} FROM coin_parameters WHERE symbol = ?"
        return await self._read_one(CoinParametersRow, sql, (symbol,))

    async def all_coin_parameters(self) -> list[CoinParameters]:
        sql = f"SELECT {CoinParametersRow.columns()} FROM coin_parameters ORDER BY symbol"
        return await self._read_all(CoinParametersRow, sql)

    # ---- audit log and state

    async def append_event(self, event: AppEvent) -> int:
        sql, args = _insert("events", event_values(event), " RETURNING id")
        async with self._session(write=True) as session:
            row = await session.fetchrow(sql, args)
        assert row is not None, "INSERT ... RETURNING gives a row"
        return int(row["id"])

    async def append_events(self, events: Sequence[AppEvent]) -> None:
        if not events:
            return
        rows = [event_values(event) for event in events]
        sql, _ = _insert("events", rows[0])
        async with self._session(write=True) as session:
            await session.executemany(sql, [list(row.values()) for row in rows])

    async def recent_events(
        self, limit: int = 100, kind: str | None = None, symbol: str | None = None
    ) -> list[AppEvent]:
        filters = {"kind": kind, "symbol": symbol}
        given = {column: value for column, value in filters.items() if value is not None}
        where = (
            "WHERE " + " AND ".join(f"{column} = ?" for column in given) + " " if given else ""
        )
        sql = f"SELECT {EventRow.columns()} FROM events {where}ORDER BY ts DESC, id DESC LIMIT ?"
        return await self._read_all(EventRow, sql, [*given.values(), _check_limit(limit)])

    async def set_state(self, key: str, value: JsonValue, ts: int) -> None:
        values: Values = {"key": key, "value": to_json(value, f"state {key!r}"), "updated_at": ts}
        async with self._session(write=True) as session:
            await session.execute(_upsert("state", values, ("key",)), list(values.values()))

    async def get_state(self, key: str, default: JsonValue = None) -> JsonValue:
        async with self._session(write=False) as session:
            sql = f"SELECT {StateRow.columns()} FROM state WHERE key = ?"
            row = await session.fetchrow(sql, (key,))
        if row is None:
            return default
        value: JsonValue = read_row(StateRow, row).value
        return value
