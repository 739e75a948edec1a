"""The store contract, run unchanged against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from densitytui.config import StorageSection
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
from densitytui.storage import (
    CorruptRecord,
    DuplicateRecord,
    InvalidRecord,
    PositionClosed,
    RecordNotFound,
    SchemaTooNew,
    Store,
    open_store,
)
from densitytui.storage.base import DAY_MS, TABLES
from densitytui.storage.migrations import LATEST_VERSION

RawSql = Callable[[str], Awaitable[list[tuple[object, ...]]]]
TryOpen = Callable[[StorageSection], Awaitable[None]]
T0 = 1_723_161_240_000  # 2024-08-08 23:54 UTC, the start of the BTCUSDT recording


def make_signal(n: int, symbol: str = "BTCUSDT", created_at: int = T0) -> Signal:
    return Signal(
        id=f"sig-{n}", symbol=symbol, kind=SignalKind.BREAKOUT, side=Side.BUY,
        entry_price=61_000.5 + n, stop_loss=60_939.5 + n, density_side=BookSide.ASK,
        density_price=61_000.0 + n, created_at=created_at, ttl_ms=60_000,
        reasons=("erosion 42%", "eaten 90%"), new_territory=n % 2 == 0, density_id=100 + n,
    )


def make_order(link_id: str, status: OrderStatus = OrderStatus.CREATED, at: int = T0) -> Order:
    return Order(
        order_link_id=link_id, symbol="BTCUSDT", side=Side.BUY, qty=0.002,
        order_type=OrderType.MARKET, status=status, created_at=at, stop_loss=60_939.5,
        updated_at=at,
    )


def make_fill(exec_id: str, link_id: str, ts: int, qty: float = 0.001) -> Fill:
    return Fill(
        exec_id=exec_id, order_link_id=link_id, symbol="BTCUSDT", side=Side.BUY,
        price=61_001.0, qty=qty, fee=0.0336, ts=ts,
    )


def make_position(
    opened_at: int = T0, venue: str = "sim", stop_loss: float | None = 60_939.5
) -> Position:
    return Position(
        symbol="BTCUSDT", side=Side.BUY, qty=0.002, entry_price=61_001.0, opened_at=opened_at,
        venue=venue, stop_loss=stop_loss, signal_id="sig-1",
    )


def make_density_event(
    ts: int, symbol: str = "BTCUSDT", outcome: DensityOutcome | None = None
) -> DensityEvent:
    density = Density(
        symbol=symbol, side=BookSide.BID, price=60_500.0, size=12.5, peak_size=20.0,
        first_seen=ts - 30_000, last_seen=ts, confirmed_at=ts - 20_000, eaten=2.5, pulled=5.0,
        levels=3, id=ts % 1_000, tested_at=ts - 5_000,
    )
    kind = DensityEventKind.GONE if outcome is not None else DensityEventKind.CHANGED
    return DensityEvent(kind=kind, density=density, ts=ts, outcome=outcome)


def make_stats(symbol: str, ts: int, last_price: float = 61_000.0) -> MarketStats:
    return MarketStats(
        symbol=symbol, ts=ts, last_price=last_price, change_24h_pct=8.1,
        turnover_24h=2.5e9, trend=Trend.UP, book_pressure=1.35, volume_24h=41_000.0,
    )


# ---- schema


async def test_fresh_database_is_at_version_zero_until_migrated(storage: StorageSection) -> None:
    store = await open_store(storage, migrate=False)
    try:
        assert await store.schema_version() == 0
        assert (await store.info()).row_counts == {}
        assert await store.migrate() == list(range(1, LATEST_VERSION + 1))
        info = await store.info()
        assert info.schema_version == LATEST_VERSION == info.latest_version
        assert info.row_counts == dict.fromkeys(TABLES, 0)
    finally:
        await store.close()


async def test_migrations_are_idempotent(storage: StorageSection) -> None:
    async with await open_store(storage) as first:
        await first.set_state("equity_peak", 1_000.0, T0)
        assert await first.migrate() == []
    async with await open_store(storage) as second:
        assert await second.migrate() == []
        assert await second.schema_version() == LATEST_VERSION
        assert await second.get_state("equity_peak") == 1_000.0


async def test_concurrent_first_opens_migrate_once(
    storage: StorageSection, raw_sql: RawSql
) -> None:
    opened = await asyncio.gather(*(open_store(storage) for _ in range(4)), return_exceptions=True)
    stores = [store for store in opened if isinstance(store, Store)]
    try:
        assert stores == opened
        assert [await store.schema_version() for store in stores] == [LATEST_VERSION] * 4
    finally:
        for store in stores:
            await store.close()
    assert await raw_sql("SELECT COUNT(*) FROM schema_version") == [(LATEST_VERSION,)]


async def test_a_newer_schema_is_refused(
    storage: StorageSection, raw_sql: RawSql, try_open: TryOpen
) -> None:
    await try_open(storage)
    await raw_sql("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'x', 0)")
    with pytest.raises(SchemaTooNew, match=r"schema version 99 is newer .* \(2\)"):
        await try_open(storage)


# ---- signals


async def test_signals_round_trip_newest_first(store: Store) -> None:
    signals = [make_signal(n, created_at=T0 + n * 1_000) for n in range(3)]
    other = make_signal(9, symbol="ETHUSDT", created_at=T0 + 500)
    for signal in [*signals, other]:
        assert await store.save_signal(signal) is True
    assert await store.recent_signals() == [signals[2], signals[1], other, signals[0]]
    assert await store.recent_signals(limit=2, symbol="BTCUSDT") == [signals[2], signals[1]]


async def test_a_signal_saved_twice_is_kept_as_first_saved(store: Store) -> None:
    first = make_signal(1)
    assert await store.save_signal(first) is True
    changed = make_signal(1, created_at=T0 + 5)
    assert await store.save_signal(changed) is False
    assert await store.recent_signals() == [first]


async def test_a_signal_is_found_by_id_with_its_density(store: Store) -> None:
    await store.save_signal(make_signal(4))
    found = await store.signal("sig-4")
    assert found == make_signal(4) and found is not None and found.density_id == 104
    assert await store.signal("sig-404") is None


async def test_decisions_keep_every_check_in_order(store: Store) -> None:
    checks = (
        CheckOutcome("max_positions", True, "open 3 < max 10"),
        CheckOutcome("stop_distance", False, "0.031% < min 0.05%"),
    )
    refused = Decision("sig-1", T0 + 5, "refused", 0.0, checks)
    entered = Decision("sig-1", T0 + 9, "entered", 0.002, checks[:1])
    other = Decision("sig-2", T0 + 7, "expired")
    ids = [await store.add_decision(d) for d in (refused, entered, other)]
    assert len(set(ids)) == 3
    on_one = await store.decisions("sig-1")
    assert [(d.outcome, d.qty, d.checks) for d in on_one] == [
        ("refused", 0.0, checks), ("entered", 0.002, checks[:1]),
    ]
    assert [d.outcome for d in await store.decisions()] == ["entered", "expired", "refused"]


# ---- orders and fills


async def test_an_entry_is_recorded_whole_or_not_at_all(store: Store) -> None:
    signal = make_signal(5)
    accepted = Decision(signal.id, T0 + 1, "accepted", 0.002, (CheckOutcome("x", True, "ok"),))
    await store.record_entry(signal, accepted, make_order("dt1-000050"), "sim")
    assert await store.signal(signal.id) == signal
    assert [d.outcome for d in await store.decisions(signal.id)] == ["accepted"]
    assert await store.order("dt1-000050") == make_order("dt1-000050")

    again = Decision(signal.id, T0 + 2, "accepted", 0.002)
    with pytest.raises(DuplicateRecord, match="dt1-000050"):
        await store.record_entry(signal, again, make_order("dt1-000050", at=T0 + 2), "sim")
    assert [d.ts for d in await store.decisions(signal.id)] == [T0 + 1]


async def test_an_order_status_never_moves_backwards(store: Store) -> None:
    await store.insert_order(make_order("dt1-000009"), venue="sim")
    await store.update_order("dt1-000009", T0 + 10, status=OrderStatus.UNKNOWN)
    filled = await store.update_order(
        "dt1-000009", T0 + 20, status=OrderStatus.FILLED, filled_qty=0.002, avg_price=61_001.0,
    )
    late = await store.update_order("dt1-000009", T0 + 30, status=OrderStatus.NEW, filled_qty=0.0)
    assert late == filled and late.status is OrderStatus.FILLED and late.filled_qty == 0.002
    cancelled = await store.update_order("dt1-000009", T0 + 40, status=OrderStatus.CANCELLED)
    assert cancelled.status is OrderStatus.FILLED
    assert await store.order("dt1-000009") == filled


async def test_order_is_stored_before_sending_and_updated_by_link_id(store: Store) -> None:
    order = make_order("dt1-000001")
    await store.insert_order(order, venue="sim")
    assert await store.order("dt1-000001") == order

    updated = await store.update_order(
        "dt1-000001", T0 + 120, status=OrderStatus.FILLED, order_id="f1e2d3",
        filled_qty=0.002, avg_price=61_001.0, fee=0.0671,
    )
    expected = make_order("dt1-000001")
    expected.status, expected.order_id, expected.filled_qty = OrderStatus.FILLED, "f1e2d3", 0.002
    expected.avg_price, expected.fee, expected.updated_at = 61_001.0, 0.0671, T0 + 120
    assert updated == expected
    assert await store.order("dt1-000001") == expected


async def test_a_rejection_keeps_its_code_and_reason(store: Store) -> None:
    await store.insert_order(make_order("dt1-000002"), venue="live")
    rejected = await store.update_order(
        "dt1-000002", T0 + 80, status=OrderStatus.REJECTED, reject_code=110007,
        reject_reason="ab not enough for new order",
    )
    assert (rejected.status, rejected.reject_code, rejected.reject_reason) == (
        OrderStatus.REJECTED, 110007, "ab not enough for new order",
    )
    assert rejected.filled_qty == 0.0 and rejected.order_id == ""


async def test_a_link_id_used_twice_is_refused(store: Store) -> None:
    await store.insert_order(make_order("dt1-000003"), venue="sim")
    with pytest.raises(DuplicateRecord, match="dt1-000003"):
        await store.insert_order(make_order("dt1-000003", at=T0 + 1), venue="sim")
    assert (await store.order("dt1-000003")) == make_order("dt1-000003")


async def test_updating_an_unknown_order_fails(store: Store) -> None:
    with pytest.raises(RecordNotFound, match="nope"):
        await store.update_order("nope", T0, status=OrderStatus.NEW)
    assert await store.order("nope") is None


async def test_open_orders_are_those_not_final(store: Store) -> None:
    statuses = [
        OrderStatus.CREATED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED,
        OrderStatus.UNTRIGGERED, OrderStatus.UNKNOWN, OrderStatus.FILLED, OrderStatus.CANCELLED,
        OrderStatus.PARTIALLY_FILLED_CANCELED, OrderStatus.REJECTED,
    ]
    for n, status in enumerate(statuses):
        await store.insert_order(make_order(f"o{n}", status, at=T0 + n), venue="sim")
    await store.insert_order(make_order("live-1", at=T0 + 99), venue="live")
    assert [o.order_link_id for o in await store.open_orders()] == [
        "o0", "o1", "o2", "o3", "o4", "live-1",
    ]
    assert [o.order_link_id for o in await store.open_orders(venue="live")] == ["live-1"]


async def test_fills_are_idempotent_on_exec_id(store: Store) -> None:
    first, second = make_fill("e1", "dt1-1", T0 + 2), make_fill("e2", "dt1-1", T0 + 1)
    assert await store.add_fill(first) is True
    assert await store.add_fill(second) is True
    assert await store.add_fill(make_fill("e1", "dt1-1", T0 + 2, qty=5.0)) is False
    stop_fill = make_fill("e3", "", T0 + 3)
    assert await store.add_fill(stop_fill) is True
    assert await store.fills("dt1-1") == [second, first]
    assert await store.recent_fills(limit=2) == [stop_fill, first]


# ---- positions


async def test_position_lifecycle_records_every_change(store: Store) -> None:
    position_id = await store.open_position(make_position())
    assert [p.id for p in await store.open_positions()] == [position_id]

    moved = await store.set_stop_loss(position_id, 61_040.0, T0 + 5_000, note="break-even")
    assert moved == PositionEvent(
        position_id, PositionEventKind.STOP_LOSS_MOVED, T0 + 5_000, 60_939.5, 61_040.0,
        "break-even", moved.id if moved else None,
    )
    assert await store.set_stop_loss(position_id, 61_040.0, T0 + 5_500) is None
    updated = await store.update_position(
        position_id, T0 + 6_000, qty=0.001, mark_price=61_400.0, unrealized_pnl=0.4
    )
    assert (updated.qty, updated.mark_price, updated.unrealized_pnl) == (0.001, 61_400.0, 0.4)
    assert updated.stop_loss == 61_040.0

    closed = await store.close_position(
        position_id, T0 + 9_000, exit_price=61_300.0, exit_reason="take_profit_velocity",
        realized_pnl=0.299, fees=0.067,
    )
    assert closed.closed_at == T0 + 9_000 and closed.exit_price == 61_300.0
    assert (closed.realized_pnl, closed.fees, closed.unrealized_pnl) == (0.299, 0.067, 0.0)
    assert closed.exit_reason == "take_profit_velocity" and closed.venue == "sim"
    assert await store.position(position_id) == closed
    assert await store.open_positions() == []
    assert await store.closed_positions() == [closed]

    events = await store.position_events(position_id)
    assert [(e.kind, e.ts, e.old_value, e.new_value) for e in events] == [
        (PositionEventKind.OPENED, T0, None, 61_001.0),
        (PositionEventKind.STOP_LOSS_SET, T0, None, 60_939.5),
        (PositionEventKind.STOP_LOSS_MOVED, T0 + 5_000, 60_939.5, 61_040.0),
        (PositionEventKind.QTY_CHANGED, T0 + 6_000, 0.002, 0.001),
        (PositionEventKind.CLOSED, T0 + 9_000, None, 61_300.0),
    ]
    assert events[-1].note == "take_profit_velocity"
    assert len({e.id for e in events}) == len(events)


async def test_a_closed_position_does_not_change(store: Store) -> None:
    position_id = await store.open_position(make_position())
    await store.close_position(
        position_id, T0 + 1, exit_price=60_939.5, exit_reason="stop_loss", realized_pnl=-0.12
    )
    with pytest.raises(PositionClosed, match=f"position {position_id}"):
        await store.close_position(
            position_id, T0 + 2, exit_price=1.0, exit_reason="again", realized_pnl=0.0
        )
    with pytest.raises(PositionClosed):
        await store.set_stop_loss(position_id, 1.0, T0 + 3)
    with pytest.raises(PositionClosed):
        await store.update_position(position_id, T0 + 4, qty=1.0)
    closed = await store.position(position_id)
    assert closed is not None and closed.closed_at == T0 + 1 and closed.exit_reason == "stop_loss"
    kinds = [e.kind for e in await store.position_events(position_id)]
    assert kinds.count(PositionEventKind.CLOSED) == 1


async def test_stop_loss_set_and_removed_and_take_profit(store: Store) -> None:
    position_id = await store.open_position(make_position(stop_loss=None))
    set_event = await store.set_stop_loss(position_id, 60_900.0, T0 + 10)
    removed = await store.set_stop_loss(position_id, None, T0 + 20)
    take_profit = await store.set_take_profit(position_id, 61_600.0, T0 + 30)
    assert await store.set_take_profit(position_id, 61_600.0, T0 + 40) is None
    assert set_event is not None and set_event.kind is PositionEventKind.STOP_LOSS_SET
    assert removed is not None and removed.kind is PositionEventKind.STOP_LOSS_REMOVED
    assert (removed.old_value, removed.new_value) == (60_900.0, None)
    assert take_profit is not None and take_profit.new_value == 61_600.0
    position = await store.position(position_id)
    assert position is not None and position.stop_loss is None
    assert position.take_profit == 61_600.0 and not position.protected


async def test_unknown_positions_are_reported(store: Store) -> None:
    with pytest.raises(RecordNotFound, match="12345"):
        await store.set_stop_loss(12_345, 1.0, T0)
    with pytest.raises(RecordNotFound, match="12345"):
        await store.add_position_event(PositionEvent(12_345, PositionEventKind.OPENED, T0))
    assert await store.position(12_345) is None


async def test_open_position_refuses_stored_or_closed_positions(store: Store) -> None:
    stored = make_position()
    stored.id = 7
    with pytest.raises(InvalidRecord, match="stored already"):
        await store.open_position(stored)
    closed = make_position()
    closed.closed_at = T0 + 1
    with pytest.raises(InvalidRecord, match="closed_at"):
        await store.open_position(closed)
    assert await store.open_positions() == []


async def test_open_positions_by_venue_and_history_newest_first(store: Store) -> None:
    sim_ids = [await store.open_position(make_position(T0 + n)) for n in range(3)]
    live_id = await store.open_position(make_position(T0 + 10, venue="live"))
    assert [p.id for p in await store.open_positions(venue="sim")] == sim_ids
    assert [p.id for p in await store.open_positions()] == [*sim_ids, live_id]
    for n, position_id in enumerate(sim_ids):
        await store.close_position(
            position_id, T0 + 100 + n, exit_price=61_000.0, exit_reason="manual",
            realized_pnl=0.0,
        )
    assert [p.id for p in await store.closed_positions(limit=2)] == sim_ids[:0:-1]
    assert await store.closed_positions(venue="live") == []


async def test_extra_position_events_are_kept_in_order(store: Store) -> None:
    position_id = await store.open_position(make_position(stop_loss=None))
    event = PositionEvent(position_id, PositionEventKind.STOP_LOSS_SET, T0 + 1, None, 60_900.0,
                          "set by reconciliation")
    event_id = await store.add_position_event(event)
    events = await store.position_events(position_id)
    assert events[-1] == PositionEvent(
        position_id, PositionEventKind.STOP_LOSS_SET, T0 + 1, None, 60_900.0,
        "set by reconciliation", event_id,
    )


async def test_concurrent_writers_lose_nothing(store: Store) -> None:
    ids = await asyncio.gather(*(store.open_position(make_position(T0 + n)) for n in range(25)))
    assert len(set(ids)) == 25
    assert sorted(p.id for p in await store.open_positions() if p.id is not None) == sorted(ids)
    events = await asyncio.gather(*(store.position_events(i) for i in ids))
    assert all(
        [e.kind for e in history] == [PositionEventKind.OPENED, PositionEventKind.STOP_LOSS_SET]
        for history in events
    )


# ---- market history


async def test_density_events_round_trip(store: Store, raw_sql: RawSql) -> None:
    events = [
        make_density_event(T0 + 1),
        make_density_event(T0 + 2, symbol="ETHUSDT", outcome=DensityOutcome.EATEN),
        make_density_event(T0 + 3, outcome=DensityOutcome.SPOOF),
    ]
    await store.add_density_events(events)
    await store.add_density_events([])
    assert await store.density_events() == events[::-1]
    assert await store.density_events(symbol="BTCUSDT", limit=1) == [events[2]]
    assert await raw_sql("SELECT ts, erosion FROM densities WHERE spoof ORDER BY ts") == [
        (T0 + 3, 0.375),
    ]


async def test_market_stats_replace_a_sample_at_the_same_time(store: Store) -> None:
    await store.add_market_stats([
        make_stats("BTCUSDT", T0), make_stats("BTCUSDT", T0 + 60_000),
        make_stats("ETHUSDT", T0), make_stats("BTCUSDT", T0, last_price=60_990.0),
    ])
    assert await store.market_stats("BTCUSDT") == [
        make_stats("BTCUSDT", T0 + 60_000), make_stats("BTCUSDT", T0, last_price=60_990.0),
    ]
    assert await store.market_stats("ETHUSDT", limit=5) == [make_stats("ETHUSDT", T0)]


async def test_coin_parameters_are_upserted(store: Store) -> None:
    instrument = Instrument(
        symbol="XRPUSDT", tick_size=0.0001, qty_step=1.0, min_qty=1.0, min_notional=5.0,
        max_market_qty=1_000_000.0, max_leverage=75.0,
    )
    first = CoinParameters(instrument, 150_000.0, T0, {"relative_factor": 3.5})
    await store.save_coin_parameters(first)
    second = CoinParameters(instrument, 250_000.0, T0 + 1, {})
    btc = CoinParameters(
        Instrument("BTCUSDT", 0.1, 0.001, 0.001, 5.0, 119.0), 2_000_000.0, T0
    )
    await store.save_coin_parameters(second)
    await store.save_coin_parameters(btc)
    assert await store.coin_parameters("XRPUSDT") == second
    assert await store.coin_parameters("SOLUSDT") is None
    assert await store.all_coin_parameters() == [btc, second]


async def test_prune_drops_only_history_older_than_retention(store: Store) -> None:
    now = T0 + 40 * DAY_MS
    old, recent = now - 30 * DAY_MS - 1, now - 30 * DAY_MS
    await store.add_density_events([make_density_event(old), make_density_event(recent)])
    await store.add_market_stats([make_stats("BTCUSDT", old), make_stats("BTCUSDT", recent)])
    await store.append_event(AppEvent(old, "order", "kept: audit is not pruned"))
    assert await store.prune(now) == {"densities": 1, "market_stats": 1}
    assert [e.ts for e in await store.density_events()] == [recent]
    assert [s.ts for s in await store.market_stats("BTCUSDT")] == [recent]
    assert len(await store.recent_events()) == 1
    assert await store.prune(now) == {"densities": 0, "market_stats": 0}


# ---- audit log and state


async def test_audit_events_round_trip_with_filters(store: Store) -> None:
    events = [
        AppEvent(T0, "order", "placed dt1-1", "BTCUSDT", {"qty": 0.002, "tags": ["entry"]}),
        AppEvent(T0 + 1, "alert", "stop-loss could not be set", "ETHUSDT", {"code": 34040}),
        AppEvent(T0 + 2, "order", "placed dt1-2", "ETHUSDT", {"nested": {"a": None}}),
    ]
    ids = [await store.append_event(event) for event in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert await store.recent_events() == events[::-1]
    assert await store.recent_events(kind="order", symbol="ETHUSDT") == [events[2]]
    assert await store.recent_events(limit=1, kind="alert") == [events[1]]


async def test_events_appended_in_a_batch_keep_their_order(store: Store) -> None:
    events = [AppEvent(T0 + n, "signal", f"signal {n}", "BTCUSDT", {"n": n}) for n in range(5)]
    await store.append_events(events[:3])
    await store.append_events([])
    await store.append_events(events[3:])
    assert await store.recent_events() == events[::-1]
    with pytest.raises(InvalidRecord, match="not JSON"):
        await store.append_events([AppEvent(T0, "x", "y", data={"bad": object()})])
    assert len(await store.recent_events()) == 5


async def test_data_that_is_not_json_is_refused_and_nothing_stored(store: Store) -> None:
    with pytest.raises(InvalidRecord, match="'order' event is not JSON"):
        await store.append_event(AppEvent(T0, "order", "x", data={"when": object()}))
    with pytest.raises(InvalidRecord, match="state 'peak' is not JSON"):
        await store.set_state("peak", float("nan"), T0)
    assert await store.recent_events() == []
    assert await store.get_state("peak", default="absent") == "absent"


@pytest.mark.parametrize(
    "value",
    [1_034.25, 0, "2024-08-08", None, [1, "two", 3.5], {"peak": 1_034.25, "day": {"start": 990}}],
)
async def test_state_holds_json_values(store: Store, value: object) -> None:
    await store.set_state("key", "old", T0)
    await store.set_state("key", value, T0 + 1)  # type: ignore[arg-type]
    assert await store.get_state("key", default="absent") == value
    assert await store.get_state("other", default=17) == 17


# ---- reading back is validated


async def test_a_corrupt_row_is_named_not_returned(store: Store, raw_sql: RawSql) -> None:
    await store.insert_order(make_order("dt1-bad"), venue="sim")
    await raw_sql("UPDATE orders SET status = 'Exploded' WHERE order_link_id = 'dt1-bad'")
    with pytest.raises(CorruptRecord, match=r"orders row order_link_id='dt1-bad': status: .*"):
        await store.order("dt1-bad")


async def test_info_counts_rows_per_table(store: Store) -> None:
    await store.save_signal(make_signal(1))
    await store.open_position(make_position())
    await store.set_state("equity_peak", 1_000.0, T0)
    info = await store.info()
    assert info.row_counts == {
        **dict.fromkeys(TABLES, 0), "signals": 1, "positions": 1, "position_events": 2,
        "state": 1,
    }
    assert info.backend == store.backend and info.location == store.location


async def test_a_limit_below_one_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        await store.recent_signals(limit=0)


async def test_orders_inserted_together_are_all_or_none(store: Store) -> None:
    orders = [make_order(f"dt1-10{n}") for n in range(3)]
    await store.insert_orders(orders, "sim")
    assert [await store.order(o.order_link_id) for o in orders] == orders
    fresh = make_order("dt1-200")
    with pytest.raises(DuplicateRecord, match="dt1-101"):
        await store.insert_orders([fresh, make_order("dt1-101")], "sim")
    assert await store.order("dt1-200") is None
