"""Exit rules (DESIGN.md §6) for an open position, and the break-even stop move.

The stop-loss itself rests on the exchange; these are the exits the engine makes at market.
`exit_decision` returns the first that applies, checked in this order:

  density_gone        a bounce whose density is no longer tracked (its reason to exist went);
  bounce_eroded       a bounce whose density eroded >= bounce_exit_erosion_pct;
  take_profit         profit >= take_profit_pct from entry (only when that is > 0);
  range_return        a breakout that entered beyond the extreme of one of the tape.range_hours
                      windows ending with the minute before the entry's minute (the longest
                      such window), and whose price is back inside it: for a long, at or below
                      that high. A failed breakout, so not gated on profit (it is always a loss
                      there). The window is fixed by the opening time, so later trades do not
                      move it; it shrinks only when the tape drops minutes older than its
                      longest range_hours. A window the tape's history does not cover (less
                      than its hours of trades or klines before the entry) is unknown and not
                      judged;
  counter_aggression  net profitable (below), and taker volume against the position over the
                      aggression window >= counter_aggression_ratio x the volume with it (and > 0);
  opposing_density    net profitable, and a confirmed, unfrozen density of the other side (asks
                      for a long) whose near edge is ahead of price within
                      opposing_density_pct of it; the position's own density does not count;
  velocity_fade       net profitable, and velocity over velocity_short_s < velocity_ratio x velocity
                      over velocity_long_s. Judged only once the position is velocity_short_s
                      old (the short window then lies wholly after the entry) and while the long
                      window saw trades: an idle tape at the open does not close a position.

"Net profitable" (the dynamic take-profits only): closing at the last price would gain at least
`min_net_profit_pct` of the entry's notional after the taker fee on both legs. A round trip costs
about 0.11 %, so a dynamic take-profit at a smaller gain would close a winner as a loser; until
the gain pays for it the stop-loss, break-even and density exits guard the trade. Reasons are
stable snake_case names; `detail` carries the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densitytui.market.tape import Tape
from densitytui.model import BookSide, Density, Position, Side, SignalKind
from densitytui.strategy.grid import HAIR, ceil_to_step, floor_to_step
from densitytui.strategy.signals import density_edges

if TYPE_CHECKING:
    from densitytui.config import StrategyConfig

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class ExitDecision:
    reason: str
    detail: str


class ExitRules:
    """The exit numbers in force for one symbol, as plain numbers (fractions, not %)."""

    __slots__ = (
        "aggression_s",
        "bounce_exit_erosion",
        "breakeven_trigger",
        "counter_aggression_ratio",
        "fade_after_ms",
        "fee_rate",
        "min_net_profit",
        "opposing_distance",
        "range_hours",
        "take_profit",
        "velocity_long_s",
        "velocity_ratio",
        "velocity_short_s",
    )

    def __init__(
        self,
        breakeven_trigger_pct: float = 0.5,
        bounce_exit_erosion_pct: float = 65.0,
        velocity_ratio: float = 0.5,
        counter_aggression_ratio: float = 2.0,
        opposing_density_pct: float = 0.2,
        take_profit_pct: float = 0.0,
        velocity_short_s: float = 3.0,
        velocity_long_s: float = 15.0,
        aggression_window_s: float = 10.0,
        range_hours: Sequence[float] = (1.0, 4.0),
        min_net_profit_pct: float = 0.05,
        fee_rate: float = 0.00055,
    ) -> None:
        self.breakeven_trigger = breakeven_trigger_pct / 100.0
        self.bounce_exit_erosion = bounce_exit_erosion_pct / 100.0
        self.velocity_ratio = velocity_ratio
        self.counter_aggression_ratio = counter_aggression_ratio
        self.opposing_distance = opposing_density_pct / 100.0
        self.take_profit = take_profit_pct / 100.0
        self.velocity_short_s = velocity_short_s
        self.velocity_long_s = velocity_long_s
        self.fade_after_ms = round(velocity_short_s * 1000)
        self.aggression_s = aggression_window_s
        # Longest first: a breakout is judged against the longest range it broke out of.
        self.range_hours = tuple(sorted(range_hours, reverse=True))
        self.min_net_profit = min_net_profit_pct / 100.0
        self.fee_rate = fee_rate

    @classmethod
    def from_config(cls, strategy: StrategyConfig, fee_rate: float = 0.00055) -> ExitRules:
        """`fee_rate`: the taker fee as a fraction (0.00055 for 0.055 %)."""
        exits = strategy.exits
        tape = strategy.tape
        return cls(
            breakeven_trigger_pct=exits.breakeven_trigger_pct,
            bounce_exit_erosion_pct=exits.bounce_exit_erosion_pct,
            velocity_ratio=exits.velocity_ratio,
            counter_aggression_ratio=exits.counter_aggression_ratio,
            opposing_density_pct=exits.opposing_density_pct,
            take_profit_pct=exits.take_profit_pct,
            velocity_short_s=tape.velocity_short_s,
            velocity_long_s=tape.velocity_long_s,
            aggression_window_s=tape.aggression_window_s,
            range_hours=tape.range_hours,
            min_net_profit_pct=exits.min_net_profit_pct,
            fee_rate=fee_rate,
        )


def net_profit(long: bool, entry: float, price: float, fee_rate: float) -> float:
    """What closing at `price` gains after the taker fee on both legs, as a fraction of the
    entry's notional: (P - E) / E - f x (E + P) / E for a long."""
    gross = (price - entry) / entry if long else (entry - price) / entry
    return gross - fee_rate * (entry + price) / entry


def exit_decision(
    position: Position,
    kind: SignalKind,
    density_id: int,
    now_ms: int,
    last_price: float,
    densities: Sequence[Density],
    tape: Tape,
    rules: ExitRules,
) -> ExitDecision | None:
    """The first exit that applies to `position` now (see the module doc), or None."""
    long = position.side is Side.BUY
    entry = position.entry_price
    if entry <= 0.0 or last_price <= 0.0:
        return None
    profit = (last_price - entry) / entry if long else (entry - last_price) / entry
    if kind is SignalKind.BOUNCE:
        decision = _bounce_density(density_id, densities, rules)
        if decision is not None:
            return decision
    if rules.take_profit > 0.0 and profit >= rules.take_profit - HAIR:
        return ExitDecision(
            "take_profit", f"profit {profit:.3%} >= take-profit {rules.take_profit:.3%}"
        )
    if kind is SignalKind.BREAKOUT:
        decision = _range_return(position, last_price, tape, rules)
        if decision is not None:
            return decision
    if profit <= 0.0:
        return None
    net = net_profit(long, entry, last_price, rules.fee_rate)
    if net < rules.min_net_profit - HAIR:
        return None
    decision = (
        _counter_aggression(long, now_ms, tape, rules)
        or _opposing_density(long, density_id, last_price, densities, rules)
        or _velocity_fade(position, now_ms, tape, rules)
    )
    if decision is None:
        return None
    return ExitDecision(decision.reason, f"{decision.detail}; net {net:.3%} after fees")


def _bounce_density(
    density_id: int, densities: Sequence[Density], rules: ExitRules,
) -> ExitDecision | None:
    for density in densities:
        if density.id == density_id:
            erosion = density.erosion
            if erosion >= rules.bounce_exit_erosion - HAIR:
                return ExitDecision(
                    "bounce_eroded",
                    f"{density.side.value} density {density.price:.10g} eroded {erosion:.0%} "
                    f">= {rules.bounce_exit_erosion:.0%}",
                )
            return None
    return ExitDecision("density_gone", f"bounce density {density_id} is gone")


def _range_return(
    position: Position, last_price: float, tape: Tape, rules: ExitRules,
) -> ExitDecision | None:
    long = position.side is Side.BUY
    entry = position.entry_price
    history = tape.history_ms(position.opened_at - MINUTE_MS)
    for hours in rules.range_hours:
        if history < hours * HOUR_MS:
            continue
        prior = tape.local_range(hours, position.opened_at - MINUTE_MS)
        if prior is None:
            continue
        low, high = prior
        if long and entry > high:
            if last_price <= high:
                return ExitDecision(
                    "range_return",
                    f"price {last_price:.10g} back at or below the {hours:g} h high "
                    f"{high:.10g} it broke out of at {entry:.10g}",
                )
            return None
        if not long and entry < low:
            if last_price >= low:
                return ExitDecision(
                    "range_return",
                    f"price {last_price:.10g} back at or above the {hours:g} h low "
                    f"{low:.10g} it broke out of at {entry:.10g}",
                )
            return None
    return None


def _counter_aggression(
    long: bool, now_ms: int, tape: Tape, rules: ExitRules,
) -> ExitDecision | None:
    buy, sell = tape.taker_volume(now_ms)
    with_us, against = (buy, sell) if long else (sell, buy)
    if against > 0.0 and against >= rules.counter_aggression_ratio * with_us:
        against_side, with_side = ("sell", "buy") if long else ("buy", "sell")
        return ExitDecision(
            "counter_aggression",
            f"taker {against_side} {against:,.0f} USDT >= {rules.counter_aggression_ratio:g} x "
            f"taker {with_side} {with_us:,.0f} USDT over {rules.aggression_s:g} s",
        )
    return None


def _opposing_density(
    long: bool, density_id: int, last_price: float, densities: Sequence[Density],
    rules: ExitRules,
) -> ExitDecision | None:
    opposing = BookSide.ASK if long else BookSide.BID
    for density in densities:
        if density.side is not opposing or density.confirmed_at is None or density.frozen:
            continue
        if density.id == density_id:
            continue
        low, high = density_edges(density)
        ahead = (low - last_price) / last_price if long else (last_price - high) / last_price
        if 0.0 <= ahead <= rules.opposing_distance + HAIR:
            return ExitDecision(
                "opposing_density",
                f"{opposing.value} density {density.price:.10g} (edge "
                f"{(low if long else high):.10g}) {ahead:.3%} ahead of price {last_price:.10g}",
            )
    return None


def _velocity_fade(
    position: Position, now_ms: int, tape: Tape, rules: ExitRules,
) -> ExitDecision | None:
    if now_ms - position.opened_at < rules.fade_after_ms:
        return None
    long_velocity = tape.velocity_long(now_ms)
    if long_velocity <= 0.0:
        return None
    short_velocity = tape.velocity_short(now_ms)
    if short_velocity < rules.velocity_ratio * long_velocity:
        return ExitDecision(
            "velocity_fade",
            f"velocity {short_velocity:,.0f} USDT/s over {rules.velocity_short_s:g} s < "
            f"{rules.velocity_ratio:g} x {long_velocity:,.0f} USDT/s over "
            f"{rules.velocity_long_s:g} s",
        )
    return None


def breakeven_stop(
    position: Position, last_price: float, fee_rate: float, tick: float, rules: ExitRules,
) -> float | None:
    """The break-even stop once profit reaches breakeven_trigger_pct, or None.

    Break-even covers the taker fee (`fee_rate` as a fraction, 0.00055 for 0.055 %) on both
    legs: for a long, the exit price P with (P - E) = f x (E + P), i.e. E x (1 + f) / (1 - f),
    ceiled onto the tick grid so it still covers them (a short: E x (1 - f) / (1 + f), floored).
    None unless it improves the current stop and stays on the safe side of `last_price`.
    """
    entry = position.entry_price
    if entry <= 0.0:
        return None
    long = position.side is Side.BUY
    profit = (last_price - entry) / entry if long else (entry - last_price) / entry
    if profit < rules.breakeven_trigger - HAIR:
        return None
    current = position.stop_loss
    if long:
        stop = ceil_to_step(entry * (1.0 + fee_rate) / (1.0 - fee_rate), tick)
        if stop >= last_price or (current is not None and current >= stop):
            return None
    else:
        stop = floor_to_step(entry * (1.0 - fee_rate) / (1.0 + fee_rate), tick)
        if stop <= last_price or (current is not None and 0.0 < current <= stop):
            return None
    return stop


def reanchored_stop(
    side: Side, signal_entry: float, signal_stop: float, fill_price: float, tick: float,
    min_stop: float,
) -> float:
    """The stop-loss moved from the signal's price to the fill: the same distance, as a
    fraction, from `fill_price`, never closer than `min_stop` (a fraction), rounded away from
    the fill onto the tick grid. The signal's stop was set before the fill was known; a fill
    that slipped would otherwise leave the stop nearer or farther than the rule asks."""
    if signal_entry <= 0.0 or fill_price <= 0.0:
        return signal_stop
    distance = max(abs(signal_entry - signal_stop) / signal_entry, min_stop)
    if side is Side.BUY:
        return floor_to_step(fill_price * (1.0 - distance), tick)
    return ceil_to_step(fill_price * (1.0 + distance), tick)
