"""The engine's state as the UI reads it: the status bar, the movers table, pending signals.

Built from the engine's parts on each `snapshot()`; nothing here changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from densitytui.engine.state import EngineStatus, FeedState, MoverRow, PendingSignal
from densitytui.model import Balance, Instrument, Signal
from densitytui.strategy.checks import RiskRules, size_entry
from densitytui.strategy.grid import ceil_to_step

if TYPE_CHECKING:
    from densitytui.engine.engine import TradingEngine
    from densitytui.engine.feed import MarketFeed
    from densitytui.engine.positions import OpenTrade
    from densitytui.market.engine import MarketEngine
    from densitytui.market.movers import Movers


def feed_state(*, stopped: bool, connected: bool, stale: bool, venue_problem: str) -> FeedState:
    if stopped:
        return FeedState.STOPPED
    if not connected:
        return FeedState.CONNECTING
    return FeedState.STALE if stale or "stale" in venue_problem else FeedState.LIVE


def exposure_usdt(trades: Mapping[str, OpenTrade]) -> float:
    return sum(
        t.position.qty * (t.position.mark_price or t.position.entry_price)
        for t in trades.values()
    )


def mover_rows(
    movers: Movers | None, trades: Mapping[str, OpenTrade], market: MarketEngine,
    feed: MarketFeed,
) -> tuple[MoverRow, ...]:
    """The movers, gainers then losers, then symbols held outside them."""
    if movers is None:
        return ()
    ordered = [t.symbol for t in (*movers.gainers, *movers.losers)]
    ordered += sorted(s for s in trades if s not in ordered)
    rows = []
    for rank, symbol in enumerate(ordered, start=1):
        ticker = market.ticker(symbol)
        prices = feed.prices.get(symbol)
        last = feed.last_price.get(symbol) or (ticker.last_price if ticker else 0.0)
        rows.append(MoverRow(
            rank=rank,
            symbol=symbol,
            last_price=last,
            change_24h_pct=market.change_24h(symbol) or 0.0,
            turnover_24h=ticker.turnover_24h if ticker else 0.0,
            trend=market.trend(symbol),
            densities=len(market.densities(symbol)),
            book_valid=market.book_valid(symbol),
            prices=tuple(prices) if prices else (),
            has_position=symbol in trades,
        ))
    return tuple(rows)


def cannot_trade(
    signal: Signal, instrument: Instrument | None, balance: Balance | None, rules: RiskRules,
) -> str:
    """`min 62>cap 50`: the instrument's smallest order in USDT beyond what one position may
    hold, when sizing refuses it (the entry check would; the trader sees it before asking)."""
    if instrument is None or balance is None or signal.entry_price <= 0:
        return ""
    qty, _ = size_entry(signal, balance, instrument, rules)
    if qty > 0:
        return ""
    price = signal.entry_price
    step = instrument.qty_step
    minimum = max(
        ceil_to_step(instrument.min_qty, step), ceil_to_step(instrument.min_notional / price, step)
    )
    cap = rules.max_position_exposure * balance.equity
    return f"min {minimum * price:.0f}>cap {cap:.0f}"


def pending_signal(
    signal: Signal, market: MarketEngine, last_price: float | None, why_not: str = "",
) -> PendingSignal:
    density = next(
        (d for d in market.densities(signal.symbol) if d.id == signal.density_id), None,
    )
    last = signal.entry_price if last_price is None else last_price
    return PendingSignal(
        signal=signal,
        expires_at=signal.created_at + signal.ttl_ms,
        density_notional=density.notional if density else 0.0,
        density_erosion=density.erosion if density else 0.0,
        distance_pct=abs(signal.entry_price - last) / last * 100 if last else 0.0,
        cannot_trade=why_not,
    )



def engine_status(engine: TradingEngine, now: int) -> EngineStatus:
    """The status bar: mode, why entries are blocked, the feed, the account, the store."""
    balance = engine.balance
    age = engine.feed.data_age(engine.receive_ms())
    trades = engine.trades
    gate = engine.gate
    return EngineStatus(
        now_ms=now,
        venue=engine.venue.name,
        mode=engine.mode,
        entries_paused=gate.paused,
        blocked_reason=engine.blocked_reason,
        feed=feed_state(
            stopped=engine.stopped, connected=engine.feed.last_data_ms is not None,
            stale=age > engine.config.risk.stale_data_s * 1000,
            venue_problem=engine.venue_problem,
        ),
        data_age_ms=age,
        latency_ms=engine.executor.last_round_trip_ms,
        equity=balance.equity if balance else 0.0,
        available=balance.available if balance else 0.0,
        exposure_usdt=exposure_usdt(trades),
        day_pnl=gate.safety.day_realized_pnl + sum(
            t.position.unrealized_pnl for t in trades.values()
        ),
        store_ok=not gate.store_error,
        store_error=gate.store_error,
    )
