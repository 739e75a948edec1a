"""One backtest: recorded files through the trading engine in auto mode, on recorded time.

The engine is the production one (`TradingEngine`, lockstep, so a run depends on its input
alone) on a `ReplayMarketData` venue and a `PaperBroker` that fills against the replay's
look-ahead book (`venues/replay.py`: the book `latency_ms` of recorded time after the order).
Its journal is a real SQLite store in a temporary directory; the results are read back from it
(closed positions with entry, exit, reason, PnL after fees and fees; the signals and what was
decided about them), so they are exactly what the engine stored. Positions still open when the
data ends are closed at market at the end (reason `close_all`), against the last book. One that
cannot be closed (its book never healed after a gap) is not dropped: it is listed as open,
marked to market, and the run is NOT FLAT. Equity is sampled marked to market (wallet plus open
positions at their mark) every `yield_every` frames and at every open and close, so the
drawdown counts losses still open, not only closed trades.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densitytui.backtest.store import ScratchSqliteStore
from densitytui.config import Config
from densitytui.engine.engine import TradingEngine
from densitytui.engine.journal import Journal
from densitytui.market.engine import MarketEngine
from densitytui.model import AppEvent, Instrument, Side, TradingMode
from densitytui.storage import Store
from densitytui.storage.url import parse_store_url
from densitytui.venues.base import Venue
from densitytui.venues.paper import FundingPayment, PaperBroker
from densitytui.venues.replay import ReplayMarketData, ReplayPace

VENUE = "replay"
LINK_PREFIX = "bt"
ALL_ROWS = 1_000_000_000
SCRATCH = "/dev/shm"

Progress = Callable[[ReplayMarketData], None]


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One closed position as the engine stored it."""

    symbol: str
    kind: str
    side: str
    qty: float
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    exit_reason: str
    pnl: float
    fees: float
    signal_id: str
    # Maximum adverse and favourable excursion, % of the entry price (>= 0): how far the
    # prices the position saw went against it and for it (None when the account kept none).
    mae_pct: float | None = None
    mfe_pct: float | None = None
    # The signal's price (the last trade when the entry was decided), its stop-loss and the
    # price of the density behind it (0 for an adopted position).
    signal_price: float = 0.0
    signal_stop: float = 0.0
    density_price: float = 0.0


@dataclass(frozen=True, slots=True)
class OpenRow:
    """A position still open when the backtest ended, marked to market."""

    symbol: str
    side: str
    qty: float
    entry_time: int
    entry_price: float
    mark_price: float
    unrealized_pnl: float
    fees: float
    stop_loss: float | None


@dataclass(slots=True)
class BacktestResult:
    """Everything a report needs; nothing here depends on the machine or the wall clock."""

    files: list[str]
    start_ms: int
    end_ms: int
    messages: int
    malformed: int
    starting_balance: float
    latency_ms: int
    taker_fee_pct: float
    change_24h: dict[str, float]
    instruments: list[dict[str, Any]]
    inferred_instruments: list[str]
    trades: list[TradeRow]
    signals: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    open_positions: list[OpenRow] = field(default_factory=list)
    # (recorded time, equity marked to market), in time order.
    marked_equity: list[tuple[int, float]] = field(default_factory=list)
    feed_latency_ms: int = 0
    answer_latency_ms: int = 0
    # Every funding payment of the paper account (positive is a cost), with its rate.
    funding: list[FundingPayment] = field(default_factory=list)
    funding_rate_pct: float = 0.0
    # (trigger time, symbol, price) of stops filled at a print: the exchange's book had no
    # level on their side.
    stops_at_print: list[tuple[int, str, float]] = field(default_factory=list)
    # (arrival time, symbol, stop) of stop changes the exchange refused when they arrived.
    stops_refused: list[tuple[int, str, float]] = field(default_factory=list)
    # Where each symbol's trading rules came from: given, known or inferred (`ReplayMarketData`).
    instrument_sources: dict[str, str] = field(default_factory=dict)


def _scratch() -> str | None:
    """Memory-backed /dev/shm when there is one: the journal fsyncs every write, and a
    backtest's store is thrown away at the end."""
    return SCRATCH if os.path.isdir(SCRATCH) and os.access(SCRATCH, os.W_OK) else None


async def open_scratch_store(config: Config) -> Store:
    """The run's journal (`store.py`): the SQLite file `backtest_config` names, migrated."""
    target = parse_store_url(config.storage.url)
    assert target.path is not None
    store = ScratchSqliteStore(target.path, config.storage.retention_days)
    await store.connect()
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    return store


def backtest_config(config: Config, db: Path) -> Config:
    """The config a backtest runs: auto mode, the replay venue, a fixed link-id prefix and its
    own SQLite file."""
    return config.model_copy(update={
        "app": config.app.model_copy(update={"mode": TradingMode.AUTO, "venue": VENUE}),
        "storage": config.storage.model_copy(update={"url": f"sqlite:///{db}"}),
        "engine": config.engine.model_copy(update={"link_id_prefix": LINK_PREFIX}),
    })


async def run_backtest(
    config: Config,
    files: Sequence[str | Path],
    change_24h: dict[str, float] | None = None,
    *,
    instruments: Sequence[Instrument] = (),
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay `files` through the engine; see the module doc."""
    changes = dict(change_24h or {})
    with tempfile.TemporaryDirectory(prefix="densitytui-backtest-", dir=_scratch()) as folder:
        run_config = backtest_config(config, Path(folder) / "backtest.db")
        return await _run(run_config, config, files, changes, instruments, progress)


async def replay_engine(
    config: Config,
    files: Sequence[str | Path],
    changes: dict[str, float],
    journal: Journal,
    instruments: Sequence[Instrument] = (),
    pace: ReplayPace | None = None,
    scratch_journal: bool = False,
    engine_type: type[TradingEngine] = TradingEngine,
) -> TradingEngine:
    """The trading engine on a replay of `files` (lockstep, recorded time) with a paper account
    that fills orders against the replay's look-ahead book and stops on its exchange book,
    every request reaching it feed + order latency after it is sent; not started.
    `scratch_journal`: the journal is thrown away after the run (a backtest's; a watched
    replay's store is kept), see `TradingEngine`.
    `engine_type`: a subclass to run instead (a test's reference engine)."""
    settings = config.backtest
    market = MarketEngine(config, changes)
    replay = ReplayMarketData(
        files, market.book, latency_ms=settings.feed_latency_ms + settings.latency_ms,
        change_24h=changes,
        instruments=instruments, discovery_ms=round(settings.discovery_s * 1000),
        turnover_24h=config.movers.min_turnover_usdt, pace=pace,
    )
    replay.require_data()
    listed = await replay.instruments()
    broker = PaperBroker.from_config(
        config, listed, replay.fill_book, replay.now_ms, name=VENUE, mark_book_for=market.book,
        exchange_books=replay,
        request_delay_ms=settings.feed_latency_ms + settings.latency_ms,
        keep_excursions=True,
    )
    return engine_type(
        config, Venue(VENUE, replay, broker), journal, clock_ms=replay.now_ms, market=market,
        lockstep=True, scratch_journal=scratch_journal,
    )


async def _run(
    config: Config,
    shown: Config,
    files: Sequence[str | Path],
    changes: dict[str, float],
    given: Sequence[Instrument],
    progress: Progress | None,
) -> BacktestResult:
    settings = config.backtest
    store = await open_scratch_store(config)
    try:
        engine = await replay_engine(
            config, files, changes, store, given, scratch_journal=True,
        )
    except BaseException:
        await store.close()
        raise
    replay = engine.venue.market
    broker = engine.exchange
    market = engine.market
    assert isinstance(replay, ReplayMarketData)
    assert isinstance(broker, PaperBroker)
    listed = await replay.instruments()
    alerts: list[str] = []
    marked: list[tuple[int, float]] = []

    def sample() -> None:
        point = (replay.now_ms(), broker.marked_equity())
        if not marked or marked[-1] != point:
            marked.append(point)

    def on_progress(replay: ReplayMarketData) -> None:
        sample()
        if progress is not None:
            progress(replay)

    replay.on_progress = on_progress

    def listen(event: AppEvent) -> None:
        if event.data.get("level") == "alert":
            alerts.append(f"{event.kind}: {event.message}")
        if event.kind in ("opened", "closed"):
            sample()

    engine.listeners.append(listen)
    try:
        await engine.start()
        await engine.run()
        if engine.trades:
            await engine.close_all()
        sample()
        left = [p for p in await broker.positions() if p.qty > 0]
        await engine.stop()
        trades, signals, decisions, refusals = await _read_back(store, broker.excursions or {})
    finally:
        await engine.stop()
        await replay.close()
        await broker.close()
        await store.close()
    stats = market.stats
    return BacktestResult(
        files=[str(f) for f in files],
        start_ms=replay.first_ms or 0,
        end_ms=replay.now_ms(),
        messages=stats.total_messages,
        malformed=stats.total_malformed,
        starting_balance=config.paper.starting_balance_usdt,
        latency_ms=settings.latency_ms,
        taker_fee_pct=config.paper.taker_fee_pct,
        change_24h=dict(sorted(changes.items())),
        instruments=[_instrument(i) for i in listed],
        inferred_instruments=replay.inferred(),
        trades=trades,
        signals=signals,
        decisions=decisions,
        refusals=refusals,
        alerts=alerts,
        config=shown.model_dump(mode="json"),
        open_positions=[
            OpenRow(
                symbol=p.symbol, side=p.side.value, qty=p.qty, entry_time=p.opened_at,
                entry_price=p.entry_price, mark_price=p.mark_price,
                unrealized_pnl=p.unrealized_pnl, fees=p.fees, stop_loss=p.stop_loss,
            )
            for p in sorted(left, key=lambda p: p.symbol)
        ],
        marked_equity=marked,
        feed_latency_ms=settings.feed_latency_ms,
        answer_latency_ms=settings.answer_latency_ms,
        funding=list(broker.funding),
        funding_rate_pct=config.paper.funding_rate_pct,
        stops_at_print=list(broker.stops_at_print),
        stops_refused=list(broker.stops_refused),
        instrument_sources=replay.instrument_sources(),
    )


async def _read_back(
    store: Store, excursions: dict[tuple[str, int], tuple[float, float]],
) -> tuple[list[TradeRow], dict[str, int], dict[str, int], dict[str, int]]:
    positions = await store.closed_positions(limit=ALL_ROWS, venue=VENUE)
    signals = {s.id: s for s in await store.recent_signals(limit=ALL_ROWS)}
    trades = []
    for p in positions:
        signal = signals.get(p.signal_id)
        seen = excursions.get((p.symbol, p.opened_at))
        mae = mfe = None
        if seen is not None and p.entry_price > 0:
            low, high = seen
            down = (p.entry_price - low) / p.entry_price * 100
            up = (high - p.entry_price) / p.entry_price * 100
            mae, mfe = (down, up) if p.side is Side.BUY else (up, down)
            mae, mfe = max(mae, 0.0), max(mfe, 0.0)
        trades.append(TradeRow(
            symbol=p.symbol,
            kind=signal.kind.value if signal else "adopted",
            side=p.side.value,
            qty=p.qty,
            entry_time=p.opened_at,
            entry_price=p.entry_price,
            exit_time=p.closed_at or 0,
            exit_price=p.exit_price if p.exit_price is not None else 0.0,
            exit_reason=p.exit_reason,
            pnl=p.realized_pnl,
            fees=p.fees,
            signal_id=p.signal_id,
            mae_pct=mae,
            mfe_pct=mfe,
            signal_price=signal.entry_price if signal else 0.0,
            signal_stop=signal.stop_loss if signal else 0.0,
            density_price=signal.density_price if signal else 0.0,
        ))
    trades.sort(key=lambda t: (t.entry_time, t.exit_time, t.symbol, t.signal_id))
    kinds = Counter(s.kind.value for s in signals.values())
    decisions: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    for decision in await store.decisions(limit=ALL_ROWS):
        decisions[decision.outcome] += 1
        if decision.outcome == "refused":
            for check in decision.checks:
                if not check.passed:
                    refusals[check.name] += 1
    return trades, dict(sorted(kinds.items())), dict(sorted(decisions.items())), dict(
        sorted(refusals.items()),
    )


def _instrument(instrument: Instrument) -> dict[str, Any]:
    return {
        "symbol": instrument.symbol, "tick_size": instrument.tick_size,
        "qty_step": instrument.qty_step, "min_qty": instrument.min_qty,
        "min_notional": instrument.min_notional,
    }


def run_backtest_sync(
    config: Config,
    files: Sequence[str | Path],
    change_24h: dict[str, float] | None = None,
    instruments: Sequence[Instrument] = (),
) -> BacktestResult:
    """`run_backtest` in a fresh event loop, without progress (sweep workers, tests)."""
    return asyncio.run(run_backtest(config, files, change_24h, instruments=instruments))
