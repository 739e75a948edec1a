"""Breakout and bounce signals (DESIGN.md §4) from the densities, trend and tape of one symbol.

Called on market events with the state as it is; nothing is remembered between calls, so a
replay of the same events gives the same signals with the same ids.

Edges. A density spans `price_low..price_high` (a cluster's outer levels; one level's price
twice); `price` is its anchor level. Price reaches it at its near edge (an ask's low, a bid's
high). Stops never go beyond the anchor or weighted price alone: they clear the whole cluster.

Breakout, UP trend (the mirror for DOWN): an ASK density above price is being eaten.
  through    the last trade went through the wall, as `signals.breakout_through` says:
             far_edge   beyond its far edge: `prev_price <= price_high < last_price` (DOWN:
                        `prev_price >= price_low > last_price` for a BID density), so the wall's
                        price levels were traded through, not merely touched;
             remaining  through its near edge, `prev_price < price_low <= last_price` (DOWN:
                        `prev_price > price_high >= last_price`), while the wall keeps at most
                        breakout_max_remaining_pct of its peak size.
             `prev_price` is the last trade price at the caller's previous evaluation. While a
             wall is eaten, trades alternate around it, so each renewed crossing counts; a
             signal comes on the first one after the wall's state is enough;
  state      confirmed, not frozen, erosion >= breakout_min_erosion_pct, mostly eaten
             (eaten >= pulled) and no spoof (pulled <= spoof_pulled_pct of what it lost);
  entry      at market, `last_price`; Buy for UP, Sell for DOWN;
  stop       breakout_stop_pct from entry (at least min_stop_pct), and below the level that
             broke: at most `price_low - tick` for a long (at least `price_high + tick` for a
             short), floored (ceiled) onto the tick grid, i.e. away from the entry;
  new territory  `last_price` above the high (below the low) of the tape's prior range over
             the longest of tape.range_hours: a field on the signal and a reason. Judged only
             when the tape's history covers those hours (trades seen, or klines from REST);
             with less, the range is "unknown" and the signal is not new territory.

Bounce, DOWN trend with a BID density below price → Buy (UP trend, ASK density above → Sell):
  distance   price above the density's near edge by at most bounce_max_distance_pct of that
             edge: `price_high <= last_price <= price_high x (1 + pct)` (ask: mirror);
  state      confirmed, not frozen, erosion < bounce_max_erosion_pct;
  calm tape  eaten at the level < bounce_max_eaten_pct of its peak, and no volume spike now;
  stop       bounce_stop_pct beyond the far edge: `price_low x (1 - pct)` for a long,
             `price_high x (1 + pct)` for a short, at least min_stop_pct from entry, rounded
             away from the entry onto the tick grid.

A FLAT trend, an invalid book or an unknown tick size (tick <= 0: a stop off the grid would be
rejected) gives no signals.

Signals are not deduplicated: a bounce comes again on every call while its conditions hold,
a breakout on every renewed crossing; the caller keeps one per (symbol, kind, density id).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import TYPE_CHECKING

from densitytui.market.spoof import is_spoof
from densitytui.market.tape import Tape
from densitytui.model import BookSide, Density, Side, Signal, SignalKind, Trend
from densitytui.strategy.grid import HAIR, ceil_to_step, floor_to_step

if TYPE_CHECKING:
    from densitytui.config import StrategyConfig

HOUR_MS = 3_600_000


class SignalRules:
    """The signal numbers in force for one symbol, as plain floats (fractions, not %)."""

    __slots__ = (
        "bounce_max_distance",
        "bounce_max_eaten",
        "bounce_max_erosion",
        "bounce_stop",
        "breakout_max_remaining",
        "breakout_min_erosion",
        "breakout_stop",
        "far_edge",
        "min_stop",
        "range_hours",
        "spoof_min_loss",
        "spoof_share",
        "ttl_ms",
    )

    def __init__(
        self,
        ttl_s: float = 60.0,
        breakout_min_erosion_pct: float = 30.0,
        breakout_stop_pct: float = 0.1,
        min_stop_pct: float = 0.05,
        bounce_max_distance_pct: float = 0.2,
        bounce_max_erosion_pct: float = 10.0,
        bounce_max_eaten_pct: float = 10.0,
        bounce_stop_pct: float = 0.3,
        spoof_pulled_pct: float = 60.0,
        range_hours: Sequence[float] = (1.0, 4.0),
        breakout_through: str = "far_edge",
        breakout_max_remaining_pct: float = 10.0,
        spoof_min_loss_pct: float = 10.0,
    ) -> None:
        if breakout_through not in ("far_edge", "remaining"):
            raise ValueError(f"breakout_through: far_edge or remaining, not {breakout_through!r}")
        self.ttl_ms = round(ttl_s * 1000)
        self.breakout_min_erosion = breakout_min_erosion_pct / 100.0
        self.breakout_stop = breakout_stop_pct / 100.0
        self.min_stop = min_stop_pct / 100.0
        self.bounce_max_distance = bounce_max_distance_pct / 100.0
        self.bounce_max_erosion = bounce_max_erosion_pct / 100.0
        self.bounce_max_eaten = bounce_max_eaten_pct / 100.0
        self.bounce_stop = bounce_stop_pct / 100.0
        self.spoof_share = spoof_pulled_pct / 100.0
        self.spoof_min_loss = spoof_min_loss_pct / 100.0
        self.range_hours = max(range_hours)
        self.far_edge = breakout_through == "far_edge"
        self.breakout_max_remaining = breakout_max_remaining_pct / 100.0

    @classmethod
    def from_config(cls, strategy: StrategyConfig) -> SignalRules:
        signals = strategy.signals
        return cls(
            ttl_s=signals.ttl_s,
            breakout_min_erosion_pct=signals.breakout_min_erosion_pct,
            breakout_stop_pct=signals.breakout_stop_pct,
            min_stop_pct=signals.min_stop_pct,
            bounce_max_distance_pct=signals.bounce_max_distance_pct,
            bounce_max_erosion_pct=signals.bounce_max_erosion_pct,
            bounce_max_eaten_pct=signals.bounce_max_eaten_pct,
            bounce_stop_pct=signals.bounce_stop_pct,
            spoof_pulled_pct=strategy.density.spoof_pulled_pct,
            spoof_min_loss_pct=strategy.density.change_report_pct,
            range_hours=strategy.tape.range_hours,
            breakout_through=signals.breakout_through,
            breakout_max_remaining_pct=signals.breakout_max_remaining_pct,
        )


def density_edges(density: Density) -> tuple[float, float]:
    """(price_low, price_high); a density whose edges were never set spans its own price."""
    low = density.price_low if density.price_low > 0.0 else density.price
    high = density.price_high if density.price_high > 0.0 else density.price
    return low, high


def signal_id(symbol: str, kind: SignalKind, density_id: int, created_ms: int) -> str:
    """Deterministic: the same market events give the same ids on every replay."""
    return f"{symbol}-{kind.value}-{density_id}-{created_ms}"


def find_signals(
    symbol: str,
    now_ms: int,
    trend: Trend,
    last_price: float,
    prev_price: float,
    densities: Sequence[Density],
    tape: Tape,
    tick: float,
    rules: SignalRules,
    *,
    book_valid: bool = True,
    change_24h_pct: float | None = None,
    known: Container[tuple[SignalKind, int]] = (),
) -> list[Signal]:
    """Every breakout and bounce the densities give right now (see the module doc).

    `change_24h_pct`, when given, only adds its figure to the trend reason. Signals whose
    (kind, density id) is in `known` (the caller keeps one per pair and has it) are left out
    without being made. The tape is asked only what a signal still to be made needs (its
    questions change nothing, so fewer of them cannot change a later answer)."""
    if trend is Trend.FLAT or not book_valid or last_price <= 0.0 or tick <= 0.0:
        return []
    up = trend is Trend.UP
    # Made when a density first comes near enough to matter: most calls make no signal.
    trend_reason = ""
    # UP: ask densities above price, both to break (long) and to bounce off (short).
    wanted = BookSide.ASK if up else BookSide.BID
    signals: list[Signal] = []
    spike: bool | None = None
    for density in densities:
        if density.side is not wanted or density.confirmed_at is None or density.frozen:
            continue
        low, high = density_edges(density)
        near = low if up else high
        if _through(up, low, high, last_price, prev_price, rules.far_edge):
            if (SignalKind.BREAKOUT, density.id) in known:
                if _breaks(density, rules):
                    continue
            else:
                trend_reason = trend_reason or _trend_reason(trend, change_24h_pct)
                signal = _breakout(
                    symbol, now_ms, up, last_price, density, tape, tick, rules, trend_reason
                )
                if signal is not None:
                    signals.append(signal)
                    continue
        distance = (near - last_price) / near if up else (last_price - near) / near
        if 0.0 <= distance <= rules.bounce_max_distance + HAIR:
            if (SignalKind.BOUNCE, density.id) in known or not _calm_wall(density, rules):
                continue
            if spike is None:
                spike = tape.spike(now_ms)
            if spike:
                continue
            trend_reason = trend_reason or _trend_reason(trend, change_24h_pct)
            signal = _bounce(
                symbol, now_ms, up, last_price, distance, density, spike, tick, rules,
                trend_reason,
            )
            if signal is not None:
                signals.append(signal)
    return signals


class Reach:
    """Where price must be for `find_signals` to look at any density: the densities it can
    signal on (confirmed, not frozen; asks under an UP trend, bids under a DOWN one) and the
    test of a price move against them.

    While no density of the trend's side is within reach `find_signals` returns [] without
    asking the tape anything, so a caller may skip it. The sets hold while the densities'
    sides, confirmations and frozen flags stand; their edges are read when asked."""

    __slots__ = ("asks", "bids", "distance", "far_edge", "trend")

    def __init__(self, densities: Sequence[Density], rules: SignalRules) -> None:
        # The caller's to fill in when it first needs it; it holds as long as the sets.
        self.trend: Trend | None = None
        self.asks: list[Density] = []
        self.bids: list[Density] = []
        for density in densities:
            if density.confirmed_at is not None and not density.frozen:
                (self.asks if density.side is BookSide.ASK else self.bids).append(density)
        self.distance = rules.bounce_max_distance + HAIR
        self.far_edge = rules.far_edge

    def of(self, trend: Trend) -> list[Density]:
        """The densities a signal can come from under `trend`."""
        if trend is Trend.FLAT:
            return []
        return self.asks if trend is Trend.UP else self.bids

    def near(self, last_price: float, prev_price: float) -> tuple[bool, bool]:
        """(an ask, a bid) within reach of the move `prev_price` -> `last_price`: the move
        goes through it the way `find_signals` looks for a breakout (`_through`), or ends
        within bounce distance of its near edge."""
        return self._ask_near(last_price, prev_price), self._bid_near(last_price, prev_price)

    def near_on(self, trend: Trend, last_price: float, prev_price: float) -> bool:
        """A density of `trend`'s side within reach (`near`); none under a FLAT trend."""
        if trend is Trend.UP:
            return self._ask_near(last_price, prev_price)
        return trend is Trend.DOWN and self._bid_near(last_price, prev_price)

    def _ask_near(self, last_price: float, prev_price: float) -> bool:
        reach = self.distance
        far_edge = self.far_edge
        for density in self.asks:
            near = density.price_low if density.price_low > 0.0 else density.price
            if 0.0 <= (near - last_price) / near <= reach:
                return True
            far = density.price_high if density.price_high > 0.0 else density.price
            if _through(True, near, far, last_price, prev_price, far_edge):
                return True
        return False

    def _bid_near(self, last_price: float, prev_price: float) -> bool:
        reach = self.distance
        far_edge = self.far_edge
        for density in self.bids:
            near = density.price_high if density.price_high > 0.0 else density.price
            if 0.0 <= (last_price - near) / near <= reach:
                return True
            far = density.price_low if density.price_low > 0.0 else density.price
            if _through(False, far, near, last_price, prev_price, far_edge):
                return True
        return False


def _trend_reason(trend: Trend, change_24h_pct: float | None) -> str:
    if change_24h_pct is None:
        return f"trend {trend.value}"
    return f"trend {trend.value} {change_24h_pct:+.1f}%"


def _through(
    up: bool, low: float, high: float, last_price: float, prev_price: float, far_edge: bool,
) -> bool:
    """The move `prev_price` -> `last_price` went through a wall spanning `low..high` the way
    a breakout needs (see the module doc): beyond its far edge, or through its near one."""
    if far_edge:
        return (prev_price <= high < last_price) if up else (prev_price >= low > last_price)
    return (prev_price < low <= last_price) if up else (prev_price > high >= last_price)


def _breaks(density: Density, rules: SignalRules) -> bool:
    """The state of a breakout: eroded enough (and little left, when the rule says so),
    mostly eaten, no spoof."""
    if density.erosion < rules.breakout_min_erosion - HAIR:
        return False
    if not rules.far_edge and 1.0 - density.erosion > rules.breakout_max_remaining + HAIR:
        return False
    eaten = density.eaten
    return not (
        eaten <= 0.0 or eaten < density.pulled
        or is_spoof(density, rules.spoof_share, rules.spoof_min_loss)
    )


def _breakout(
    symbol: str, now_ms: int, up: bool, last_price: float, density: Density, tape: Tape,
    tick: float, rules: SignalRules, trend_reason: str,
) -> Signal | None:
    if not _breaks(density, rules):
        return None
    erosion = density.erosion
    eaten = density.eaten
    pulled = density.pulled
    low, high = density_edges(density)
    entry = last_price
    if up:
        stop = floor_to_step(
            min(entry * (1.0 - max(rules.breakout_stop, rules.min_stop)), low - tick), tick
        )
    else:
        stop = ceil_to_step(
            max(entry * (1.0 + max(rules.breakout_stop, rules.min_stop)), high + tick), tick
        )
    hours = rules.range_hours
    history = tape.history_ms(now_ms)
    prior = tape.prior_range(hours, now_ms) if history >= hours * HOUR_MS else None
    if prior is None:
        new_territory = False
        territory = f"{hours:g} h range unknown: {history / 60_000:.1f} min of history"
    elif up:
        new_territory = last_price > prior[1]
        territory = (
            f"new territory above the {hours:g} h high {prior[1]:.10g}" if new_territory
            else f"inside the {hours:g} h range (high {prior[1]:.10g})"
        )
    else:
        new_territory = last_price < prior[0]
        territory = (
            f"new territory below the {hours:g} h low {prior[0]:.10g}" if new_territory
            else f"inside the {hours:g} h range (low {prior[0]:.10g})"
        )
    peak = density.peak_size
    side_name = density.side.value
    reasons = (
        trend_reason,
        f"{side_name} density {density.price:.10g} broken: trade {last_price:.10g} "
        + (
            f"beyond its far edge {(high if up else low):.10g}" if rules.far_edge
            else f"through its edge, {1.0 - erosion:.0%} of the wall left "
            f"<= {rules.breakout_max_remaining:.0%}"
        ),
        f"erosion {erosion:.0%} (eaten {eaten / peak:.0%}, pulled {pulled / peak:.0%})",
        territory,
        f"stop {stop:.10g} ({abs(entry - stop) / entry:.3%}) beyond edge "
        f"{(low if up else high):.10g}",
    )
    return Signal(
        signal_id(symbol, SignalKind.BREAKOUT, density.id, now_ms), symbol, SignalKind.BREAKOUT,
        Side.BUY if up else Side.SELL, entry, stop, density.side, density.price, now_ms,
        rules.ttl_ms, reasons, new_territory, density.id,
    )


def _holds(density: Density, spike: bool, rules: SignalRules) -> bool:
    """The state of a bounce: little eroded, little eaten, a calm tape."""
    return not spike and _calm_wall(density, rules)


def _calm_wall(density: Density, rules: SignalRules) -> bool:
    """A bounce's wall: little eroded, little eaten (the tape is asked apart, only if so)."""
    peak = density.peak_size
    if density.erosion >= rules.bounce_max_erosion - HAIR:
        return False
    return not (peak <= 0.0 or density.eaten / peak >= rules.bounce_max_eaten - HAIR)


def _bounce(
    symbol: str, now_ms: int, up: bool, last_price: float, distance: float, density: Density,
    spike: bool, tick: float, rules: SignalRules, trend_reason: str,
) -> Signal | None:
    if not _holds(density, spike, rules):
        return None
    erosion = density.erosion
    peak = density.peak_size
    low, high = density_edges(density)
    entry = last_price
    if up:
        # UP trend: short off an ask wall above; the stop goes above its high edge.
        side = Side.SELL
        stop = ceil_to_step(
            max(high * (1.0 + rules.bounce_stop), entry * (1.0 + rules.min_stop)), tick
        )
        edge = high
    else:
        side = Side.BUY
        stop = floor_to_step(
            min(low * (1.0 - rules.bounce_stop), entry * (1.0 - rules.min_stop)), tick
        )
        edge = low
    reasons = (
        trend_reason,
        f"{density.side.value} density {density.price:.10g} holds: price {distance:.3%} away",
        f"erosion {erosion:.0%}, eaten {density.eaten / peak:.0%}, no volume spike",
        f"stop {stop:.10g} ({abs(entry - stop) / entry:.3%}) beyond edge {edge:.10g}",
    )
    return Signal(
        signal_id(symbol, SignalKind.BOUNCE, density.id, now_ms), symbol, SignalKind.BOUNCE,
        side, entry, stop, density.side, density.price, now_ms, rules.ttl_ms, reasons, False,
        density.id,
    )


def signal_still_valid(
    signal: Signal, densities: Sequence[Density], book_valid: bool, now_ms: int,
) -> str | None:
    """Why the engine should drop `signal` now (None while it stands): expired, its density
    gone, or the book invalid."""
    age = now_ms - signal.created_at
    if age >= signal.ttl_ms:
        return f"expired: {age / 1000:.1f} s old, ttl {signal.ttl_ms / 1000:g} s"
    if not any(_is_behind(signal, density) for density in densities):
        return f"density gone: {signal.density_side.value} {signal.density_price:.10g}"
    if not book_valid:
        return "book invalid"
    return None


def _is_behind(signal: Signal, density: Density) -> bool:
    """`density` is the one behind `signal` (by id; by side and price for an id-less signal)."""
    if signal.density_id:
        return density.id == signal.density_id
    return density.side is signal.density_side and density.price == signal.density_price
