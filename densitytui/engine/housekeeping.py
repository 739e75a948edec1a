"""What the engine does about once a second: signals' TTL, the balance and the kill switch,
reconciliation, the movers list, books to resync, the market history to store.

It runs every `HOUSEKEEPING_MS` of venue time from the feed loop, and of wall time from a timer
when no data arrives (a stalled feed must still be noticed). It owns the account's balance and
the movers watched, which the entries and the snapshot read.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from densitytui.engine.events import Emit, EventKind
from densitytui.engine.journal import Journal, JournalError
from densitytui.engine.safety import DAY_MS
from densitytui.market.densities import DensityRules
from densitytui.market.movers import Movers, diff_movers, select_movers
from densitytui.market.trend import book_pressure
from densitytui.model import Balance, CoinParameters, Instrument, MarketStats
from densitytui.venues.base import ExchangeError, Venue

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.engine.entries import EntryDesk
    from densitytui.engine.execution import Executor
    from densitytui.engine.feed import MarketFeed
    from densitytui.engine.positions import PositionBook
    from densitytui.engine.risk import RiskGate
    from densitytui.market.engine import MarketEngine

HOUSEKEEPING_MS = 1000
# Each watched symbol's market state is sampled into the store this often (ms of venue time).
MARKET_STATS_MS = 60_000
# A risen equity peak is stored at most this often (ms of venue time): a crash loses at most
# this much of its rise, and a rising equity does not write every second.
PEAK_SAVE_MS = 10_000
KLINE_MINUTES = 1
# Bybit's largest kline page.
KLINE_LIMIT = 1000


class Housekeeper:
    """The engine's periodic work (see the module doc)."""

    def __init__(
        self,
        config: Config,
        venue: Venue,
        journal: Journal,
        market: MarketEngine,
        feed: MarketFeed,
        desk: EntryDesk,
        positions: PositionBook,
        executor: Executor,
        gate: RiskGate,
        emit: Emit,
        *,
        clock_ms: Callable[[], int],
        instruments: dict[str, Instrument],
        save_state: Callable[[], Awaitable[None]],
        close_all: Callable[[], Awaitable[None]],
        store_failed: Callable[[Exception], None],
        keep_history: bool = True,
    ) -> None:
        self.config = config
        self.venue = venue
        self.exchange = venue.exchange
        self.journal = journal
        self.market = market
        self.feed = feed
        self.desk = desk
        self.positions = positions
        self.executor = executor
        self.gate = gate
        self.emit = emit
        self.clock_ms = clock_ms
        self.instruments = instruments
        self.save_state = save_state
        self.close_all = close_all
        self.store_failed = store_failed
        # A backtest's scratch journal gets no market history (stats, coin parameters).
        self.keep_history = keep_history
        self.balance: Balance | None = None
        self.movers: Movers | None = None
        self.watched: set[str] = set()
        self.next_reconcile = 0
        self._next_movers = 0
        self._next_prune = 0
        self._next_peak_save = 0
        self._next_stats = 0

    async def run_once(self, now: int) -> None:
        try:
            await self.desk.expire(now)
            await self.refresh_balance(now)
            if now >= self.next_reconcile:
                await self.reconcile(now)
            if now >= self._next_movers:
                await self.refresh_movers()
            for symbol in self.market.take_resync_requests():
                await self._resubscribe(symbol)
            await self.store_market_history(now)
            if self.keep_history and now >= self._next_stats:
                self._next_stats = now - now % MARKET_STATS_MS + MARKET_STATS_MS
                await self.journal.add_market_stats(self.market_stats(now))
        except JournalError as exc:
            self.store_failed(exc)
        except ExchangeError as exc:
            self.emit(EventKind.VENUE_ERROR, f"housekeeping: {exc}", "")

    async def store_market_history(self, now: int) -> None:
        """Density events in one batch per round; history beyond its retention pruned once a
        day."""
        events, self.feed.density_events = self.feed.density_events, []
        await self.journal.add_density_events(events)
        if now >= self._next_prune:
            self._next_prune = now + DAY_MS
            await self.journal.prune(now)

    def market_stats(self, now: int) -> list[MarketStats]:
        """A sample of each watched symbol that has a ticker: price, 24 h change and turnover,
        trend and book pressure (bids over asks near the mid, DESIGN §3)."""
        samples = []
        pressure_range = self.config.trend.pressure_range_pct
        for symbol in sorted(self.watched):
            ticker = self.market.ticker(symbol)
            if ticker is None:
                continue
            book = self.market.book(symbol)
            bids, asks = book_pressure(book, pressure_range) if book is not None else (0.0, 0.0)
            samples.append(MarketStats(
                symbol=symbol, ts=now,
                last_price=self.feed.last_price.get(symbol) or ticker.last_price,
                change_24h_pct=self.market.change_24h(symbol) or 0.0,
                turnover_24h=ticker.turnover_24h, trend=self.market.trend(symbol),
                book_pressure=bids / asks if asks > 0 else 1.0, volume_24h=ticker.volume_24h,
            ))
        return samples

    async def _save_coin_parameters(self, symbols: Iterable[str]) -> None:
        """The trading rules and density threshold in force of symbols starting to be
        watched, kept across restarts (`coin_parameters`)."""
        now = self.clock_ms()
        for symbol in symbols:
            instrument = self.instruments.get(symbol)
            if instrument is None:
                continue
            strategy = self.config.strategy(symbol)
            rules = DensityRules.from_config(strategy.density, strategy.signals)
            ticker = self.market.ticker(symbol)
            threshold = rules.threshold(ticker.turnover_24h if ticker else 0.0)
            await self.journal.save_coin_parameters(CoinParameters(
                instrument=instrument, min_density_notional_usdt=threshold, updated_at=now,
                thresholds={
                    "min_notional_usdt": strategy.density.min_notional_usdt,
                    "auto_turnover_fraction": strategy.density.auto_turnover_fraction,
                    "relative_factor": strategy.density.relative_factor,
                    "side_share_pct": strategy.density.side_share_pct,
                    "max_distance_pct": strategy.density.max_distance_pct,
                },
            ))

    async def refresh_balance(self, now: int) -> None:
        """The balance from the venue; the kill switch fires on the drawdown from the peak, the
        daily loss limit latches on the day's loss with the open positions' unrealized PnL, and
        a risen peak is stored (at most every `PEAK_SAVE_MS`)."""
        self.balance = await self.exchange.balance()
        safety = self.gate.safety
        killed = safety.on_equity(self.balance.equity, now)
        if safety.note_day_loss(self.balance.unrealized_pnl):
            self.emit(
                EventKind.DAILY_LOSS_LIMIT,
                f"daily loss limit reached: day's PnL {safety.day_realized_pnl:+.2f} realized, "
                f"{self.balance.unrealized_pnl:+.2f} unrealized; no entries until the next UTC day",
                "",
            )
            await self.save_state()
        if not killed and safety.peak_unsaved() and now >= self._next_peak_save:
            self._next_peak_save = now + PEAK_SAVE_MS
            await self.save_state()
        if killed and safety.killed_at is None:
            safety.killed_at = now
            await self.save_state()
            self.emit(
                EventKind.KILL_SWITCH,
                f"equity {self.balance.equity:.2f} is "
                f"{safety.drawdown_pct(self.balance.equity):.1f}% below its peak "
                f"{safety.equity_peak:.2f}: closing everything",
                "",
            )
            await self.close_all()

    async def reconcile(self, now: int) -> None:
        """Positions and stop-losses as the venue has them; open orders resolved by id."""
        self.next_reconcile = now + round(self.config.engine.reconcile_s * 1000)
        try:
            venue_positions = await self.exchange.positions()
        except ExchangeError as exc:
            self.emit(EventKind.RECONCILE_SKIPPED, f"positions unavailable: {exc}", "")
            return
        await self.positions.reconcile(venue_positions, now)
        await self._resolve_orders()

    async def _resolve_orders(self) -> None:
        for order in await self.journal.open_orders(self.exchange.name):
            if order.symbol in self.positions.busy:
                continue
            try:
                found = await self.exchange.order_by_link_id(order.symbol, order.order_link_id)
            except ExchangeError:
                continue
            if found is not None:
                await self.executor.record(found)
            else:
                self.positions.spawn(self.executor.resolve(order.symbol, order.order_link_id))

    async def refresh_movers(self) -> None:
        """The movers again; subscribe to new ones, drop those gone unless a position is open."""
        self._next_movers = self.clock_ms() + round(self.config.movers.refresh_s * 1000)
        tickers = await self.venue.market.tickers()
        movers = select_movers(self.instruments.values(), tickers, self.config.movers)
        held = set(self.positions.trades)
        diff = diff_movers(self.watched, movers.symbols | held, held)
        self.movers = movers
        if diff.added:
            await self.venue.market.subscribe(sorted(diff.added))
            await self._seed_history(sorted(diff.added))
        if diff.removed:
            await self.venue.market.unsubscribe(sorted(diff.removed))
            for symbol in diff.removed:
                self.market.forget(symbol)
                self.feed.forget(symbol)
        self.watched = (self.watched | diff.added) - diff.removed
        if self.keep_history and diff.added:
            await self._save_coin_parameters(sorted(diff.added))
        # The configured leverage is set as a symbol starts being watched, so that no entry
        # waits for it; an entry on a symbol not ready yet sets it first.
        for symbol in sorted(diff.added - self.desk.leverage_set):
            await self.desk.ensure_leverage(symbol)
        if diff.added or diff.removed:
            self.emit(
                EventKind.MOVERS,
                f"watching {len(self.watched)}: +{len(diff.added)} -{len(diff.removed)}",
                "",
            )

    async def _seed_history(self, symbols: Sequence[str]) -> None:
        """The range rules' history (tape.range_hours) from the venue's klines, so a symbol
        newly watched is judged at once rather than after hours of trades; a venue without
        klines (a replay) gives none, and the rules say "unknown" until the data covers it.
        Only a failure is an event (the signals' reasons say how much history a range had)."""
        hours = max(self.config.tape.range_hours)
        limit = min(KLINE_LIMIT, math.ceil(hours * 60 / KLINE_MINUTES))
        for symbol in symbols:
            try:
                klines = await self.venue.market.klines(symbol, KLINE_MINUTES, limit)
            except ExchangeError as exc:
                self.emit(
                    EventKind.VENUE_ERROR,
                    f"{symbol}: no klines for the {hours:g} h range ({exc}); it stays unknown "
                    "until the trades cover it", symbol,
                )
                continue
            if klines:
                self.market.seed_klines(symbol, klines)

    async def _resubscribe(self, symbol: str) -> None:
        """A gapped or crossed book heals from the stream's next snapshot, never from REST."""
        await self.venue.market.resync([symbol])
        self.emit(
            EventKind.RESYNC, f"{symbol}: book invalid, resubscribed for a fresh snapshot", symbol,
        )
