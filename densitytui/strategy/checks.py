"""Entry checks (DESIGN.md §5 and §7) and position sizing (§6), each check named with its numbers.

`run_checks` always returns every check, passed or not, in a fixed order, so a stored decision
shows the whole picture ("open 3 < max 10"), and `failed` picks the ones that block. Names are
stable snake_case, for the store and the screen:

  symbol_enabled, symbol_mover, signal_fresh, not_handled, max_positions, no_position,
  stop_distance, entry_deviation, density_exists, available_balance   (§5, 1-10)
  qty_valid, stop_on_tick, min_notional, position_exposure, total_exposure, min_balance,
  book_valid, data_fresh, daily_loss, stop_streak, entries_not_paused  (§5 "also", §7)
  reward_risk   room to the nearest opposing density (asks above a long, bids below a short;
                any tracked, unfrozen one but the signal's own) >= min_reward_risk x the
                stop distance: a trade whose target wall stands inside that room can only win
                less than it risks, and its opposing-density exit would fire at once
  cooldown      no re-entry on a symbol within reentry_cooldown_s of its last close

Prices are judged at `last_price`, where a market entry fills: the stop distance is measured
from it (a semi-automatic confirmation may come after price moved towards the stop), and so
are notional and exposure. Exposure is notional (qty x price) against equity; open positions
count at their mark price (entry price before the first mark).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densitytui.model import (
    Balance,
    BookSide,
    CheckOutcome,
    Density,
    Instrument,
    Position,
    Side,
    Signal,
)
from densitytui.strategy.grid import HAIR, ceil_to_step, floor_to_step, is_step_multiple

if TYPE_CHECKING:
    from densitytui.config import Config

MINUTE_MS = 60_000


class RiskRules:
    """The risk numbers in force, as plain numbers (fractions, not %, but the kill switch's
    `max_drawdown_pct`; durations in ms): the entry checks and the engine's `Safety` use these."""

    __slots__ = (
        "daily_loss_limit",
        "leverage",
        "max_drawdown_pct",
        "max_entry_deviation",
        "max_position_exposure",
        "max_positions",
        "max_total_exposure",
        "min_balance",
        "min_reward_risk",
        "min_stop",
        "position_notional",
        "reentry_cooldown_ms",
        "risk_per_trade",
        "stale_data_ms",
        "stop_streak_count",
        "stop_streak_pause_ms",
        "stop_streak_window_ms",
    )

    def __init__(
        self,
        max_positions: int = 10,
        position_notional_usdt: float = 10.0,
        risk_per_trade_pct: float = 0.0,
        leverage: float = 10.0,
        max_position_exposure_pct: float = 5.0,
        max_total_exposure_pct: float = 50.0,
        min_balance_usdt: float = 10.0,
        daily_loss_limit_pct: float = 5.0,
        stop_streak_count: int = 3,
        stop_streak_window_min: float = 30.0,
        stop_streak_pause_min: float = 30.0,
        max_entry_deviation_pct: float = 1.0,
        stale_data_s: float = 30.0,
        min_stop_pct: float = 0.05,
        min_reward_risk: float = 0.0,
        max_drawdown_pct: float = 10.0,
        reentry_cooldown_s: float = 60.0,
    ) -> None:
        self.max_positions = max_positions
        self.position_notional = position_notional_usdt
        self.risk_per_trade = risk_per_trade_pct / 100.0
        self.leverage = leverage
        self.max_position_exposure = max_position_exposure_pct / 100.0
        self.max_total_exposure = max_total_exposure_pct / 100.0
        self.min_balance = min_balance_usdt
        self.daily_loss_limit = daily_loss_limit_pct / 100.0
        self.stop_streak_count = stop_streak_count
        self.stop_streak_window_ms = round(stop_streak_window_min * MINUTE_MS)
        self.stop_streak_pause_ms = round(stop_streak_pause_min * MINUTE_MS)
        self.max_entry_deviation = max_entry_deviation_pct / 100.0
        self.stale_data_ms = round(stale_data_s * 1000)
        self.min_stop = min_stop_pct / 100.0
        self.min_reward_risk = min_reward_risk
        # Kept in %: the kill switch compares the drawdown in % with it.
        self.max_drawdown_pct = max_drawdown_pct
        self.reentry_cooldown_ms = round(reentry_cooldown_s * 1000)

    @classmethod
    def from_config(cls, config: Config, symbol: str | None = None) -> RiskRules:
        """`[risk]`, with `signals.min_stop_pct` and `signals.min_reward_risk` of `symbol` (its
        overrides) or the defaults."""
        risk = config.risk
        signals = config.strategy(symbol).signals if symbol else config.signals
        return cls(
            max_positions=risk.max_positions,
            position_notional_usdt=risk.position_notional_usdt,
            risk_per_trade_pct=risk.risk_per_trade_pct,
            leverage=risk.leverage,
            max_position_exposure_pct=risk.max_position_exposure_pct,
            max_total_exposure_pct=risk.max_total_exposure_pct,
            min_balance_usdt=risk.min_balance_usdt,
            daily_loss_limit_pct=risk.daily_loss_limit_pct,
            stop_streak_count=risk.stop_streak_count,
            stop_streak_window_min=risk.stop_streak_window_min,
            stop_streak_pause_min=risk.stop_streak_pause_min,
            max_entry_deviation_pct=risk.max_entry_deviation_pct,
            stale_data_s=risk.stale_data_s,
            min_stop_pct=signals.min_stop_pct,
            min_reward_risk=signals.min_reward_risk,
            max_drawdown_pct=risk.max_drawdown_pct,
            reentry_cooldown_s=risk.reentry_cooldown_s,
        )


@dataclass(frozen=True, slots=True)
class EntryContext:
    """Everything the checks judge, gathered by the engine at the moment of the decision.

    `open_positions` may include closed ones (`closed_at` set): they are skipped.
    `fee_rate` is the taker fee as a fraction (0.00055 for 0.055 %). `data_age_ms` is the time
    since the last book message of the signal's symbol, by local receive time (trades do not
    count). `recent_stop_times_ms` are the times of positions closed by their stop-loss (any
    order, at least the last window's worth). `day_unrealized_pnl` is the open positions' PnL
    now; `day_loss_hit` says the daily loss limit was reached earlier today (it holds until the
    next UTC day, whatever closes after). `last_close_ms` is the time of the last close on the
    symbol (None if none is known).
    """

    signal: Signal
    now_ms: int
    symbol_enabled: bool
    is_mover: bool
    already_handled: bool
    open_positions: Sequence[Position]
    last_price: float
    density_exists: bool
    balance: Balance
    day_start_equity: float
    day_realized_pnl: float
    recent_stop_times_ms: Sequence[int]
    book_valid: bool
    data_age_ms: int
    instrument: Instrument
    fee_rate: float
    entries_paused: bool
    # The symbol's tracked densities now (the reward/risk room is measured to them).
    densities: Sequence[Density] = ()
    day_unrealized_pnl: float = 0.0
    day_loss_hit: bool = False
    last_close_ms: int | None = None


def failed(results: Sequence[CheckOutcome]) -> list[CheckOutcome]:
    """The checks that block the entry."""
    return [result for result in results if not result.passed]


def size_entry(
    signal: Signal, balance: Balance, instrument: Instrument, rules: RiskRules,
) -> tuple[float, str]:
    """(qty, how it was sized), or (0.0, why it cannot be) — never a qty off the step grid.

    Fixed notional: position_notional_usdt / entry, floored to qty_step; raised to the
    instrument's minimum (min_qty, and min_notional at the entry price) only when that minimum
    stays within max_position_exposure_pct of equity. Risk mode (risk_per_trade_pct > 0): the
    qty that loses that share of equity if the stop is hit (fees aside), capped at the
    per-position exposure limit and max_market_qty; below the instrument minimum it is refused
    rather than raised, since raising would risk more than asked.
    """
    price = signal.entry_price
    equity = balance.equity
    if price <= 0.0:
        return 0.0, f"no entry price ({price:g})"
    if equity <= 0.0:
        return 0.0, f"equity {equity:.2f} USDT"
    step = instrument.qty_step
    exposure_cap = rules.max_position_exposure * equity
    minimum = max(
        ceil_to_step(instrument.min_qty, step), ceil_to_step(instrument.min_notional / price, step)
    )
    if rules.risk_per_trade > 0.0:
        distance = abs(price - signal.stop_loss)
        if distance <= 0.0:
            return 0.0, f"stop {signal.stop_loss:g} at the entry price"
        risk = rules.risk_per_trade * equity
        wanted = min(risk / distance, exposure_cap / price)
        if instrument.max_market_qty > 0.0:
            wanted = min(wanted, instrument.max_market_qty)
        qty = floor_to_step(wanted, step)
        how = (
            f"risk {risk:.2f} USDT ({rules.risk_per_trade:.2%} of equity {equity:.2f}) at stop "
            f"distance {distance:.10g}, capped at {exposure_cap:.2f} USDT: qty {qty:g}"
        )
        if qty < minimum:
            return 0.0, f"{how} < instrument minimum {minimum:g}"
        return qty, how
    qty = floor_to_step(rules.position_notional / price, step)
    how = f"{rules.position_notional:g} USDT / {price:.10g} = qty {qty:g}"
    if qty >= minimum:
        return qty, how
    needed = minimum * price
    if needed <= exposure_cap + HAIR:
        return minimum, (
            f"{how}, raised to the instrument minimum {minimum:g} ({needed:.2f} USDT <= "
            f"{rules.max_position_exposure:.0%} of equity = {exposure_cap:.2f})"
        )
    return 0.0, (
        f"{how}: the instrument minimum {minimum:g} ({needed:.2f} USDT) exceeds "
        f"{rules.max_position_exposure:.0%} of equity {equity:.2f} = {exposure_cap:.2f} USDT"
    )


def streak_paused_until(recent_stop_times_ms: Sequence[int], rules: RiskRules) -> int | None:
    """The end of the latest stop-loss streak pause: stop_streak_count stops within
    stop_streak_window_min (first to last, inclusive) pause entries until the last of them
    plus stop_streak_pause_min. None when no streak happened."""
    times = sorted(recent_stop_times_ms)
    count = rules.stop_streak_count
    until: int | None = None
    for i in range(count - 1, len(times)):
        if times[i] - times[i - count + 1] <= rules.stop_streak_window_ms:
            end = times[i] + rules.stop_streak_pause_ms
            until = end if until is None else max(until, end)
    return until


def open_exposure(positions: Sequence[Position]) -> float:
    """Notional of the open positions, at mark price (entry price before the first mark)."""
    return sum(
        p.qty * (p.mark_price if p.mark_price > 0.0 else p.entry_price)
        for p in positions
        if p.closed_at is None
    )


def run_checks(ctx: EntryContext, qty: float, rules: RiskRules) -> list[CheckOutcome]:
    """Every check for entering `ctx.signal` with `qty`, in a fixed order (see the module doc)."""
    signal = ctx.signal
    symbol = signal.symbol
    price = ctx.last_price
    equity = ctx.balance.equity
    instrument = ctx.instrument
    open_positions = [p for p in ctx.open_positions if p.closed_at is None]
    notional = qty * price
    return [
        CheckOutcome(
            "symbol_enabled", ctx.symbol_enabled,
            f"{symbol} enabled" if ctx.symbol_enabled else f"{symbol} disabled in config",
        ),
        CheckOutcome(
            "symbol_mover", ctx.is_mover,
            f"{symbol} is a mover" if ctx.is_mover else f"{symbol} is no longer a mover",
        ),
        _signal_fresh(ctx),
        CheckOutcome(
            "not_handled", not ctx.already_handled,
            "signal already handled" if ctx.already_handled else "signal not handled yet",
        ),
        _max_positions(len(open_positions), rules),
        _no_position(symbol, open_positions),
        _stop_distance(signal, price, rules),
        _entry_deviation(signal, price, rules),
        CheckOutcome(
            "density_exists", ctx.density_exists,
            f"{signal.density_side.value} density {signal.density_price:.10g} "
            + ("still there" if ctx.density_exists else "gone"),
        ),
        _available_balance(ctx, notional, rules),
        _qty_valid(qty, instrument),
        _stop_on_tick(signal.stop_loss, instrument.tick_size),
        CheckOutcome(
            "min_notional", notional >= instrument.min_notional - HAIR,
            f"notional {notional:.2f} {_cmp(notional >= instrument.min_notional - HAIR)} "
            f"min {instrument.min_notional:g} USDT",
        ),
        _exposure(
            "position_exposure", "position", notional, rules.max_position_exposure, equity
        ),
        _exposure(
            "total_exposure", "total", open_exposure(open_positions) + notional,
            rules.max_total_exposure, equity,
        ),
        CheckOutcome(
            "min_balance", equity >= rules.min_balance,
            f"equity {equity:.2f} {_cmp(equity >= rules.min_balance)} "
            f"min {rules.min_balance:g} USDT",
        ),
        CheckOutcome(
            "book_valid", ctx.book_valid,
            "book valid" if ctx.book_valid else "book invalid (sequence gap or crossed)",
        ),
        _data_fresh(ctx.data_age_ms, rules),
        _daily_loss(ctx, rules),
        _stop_streak(ctx, rules),
        CheckOutcome(
            "entries_not_paused", not ctx.entries_paused,
            "entries paused by the trader" if ctx.entries_paused else "entries not paused",
        ),
        reward_risk(signal, price, ctx.densities, rules.min_reward_risk),
        _cooldown(ctx, rules),
    ]


def reward_risk(
    signal: Signal, price: float, densities: Sequence[Density], min_ratio: float,
) -> CheckOutcome:
    """Room from `price` to the near edge of the nearest opposing density ahead, against
    `min_ratio` x the stop distance. A density straddling the price leaves no room; one
    wholly behind the price is not ahead. No opposing density: the room is open."""
    long = signal.side is Side.BUY
    if price <= 0.0:
        return CheckOutcome("reward_risk", False, f"no current price ({price:g})")
    risk = abs(price - signal.stop_loss) / price
    needed = min_ratio * risk
    opposing = BookSide.ASK if long else BookSide.BID
    nearest: Density | None = None
    room = float("inf")
    for density in densities:
        if density.side is not opposing or density.frozen or density.id == signal.density_id:
            continue
        low = density.price_low if density.price_low > 0.0 else density.price
        high = density.price_high if density.price_high > 0.0 else density.price
        if long:
            if high <= price:
                continue
            ahead = max(0.0, (low - price) / price)
        else:
            if low >= price:
                continue
            ahead = max(0.0, (price - high) / price)
        if ahead < room:
            nearest, room = density, ahead
    if nearest is None:
        return CheckOutcome(
            "reward_risk", True,
            f"no {opposing.value} density ahead; stop {risk:.3%}, needed room "
            f"{min_ratio:g} x = {needed:.3%}",
        )
    passed = room >= needed - HAIR
    return CheckOutcome(
        "reward_risk", passed,
        f"room {room:.3%} to {opposing.value} density {nearest.price:.10g} "
        f"{_cmp(passed)} {min_ratio:g} x stop {risk:.3%} = {needed:.3%}",
    )


def _cmp(passed: bool) -> str:
    """The comparison sign a detail shows: the relation that holds."""
    return ">=" if passed else "<"


def _signal_fresh(ctx: EntryContext) -> CheckOutcome:
    signal = ctx.signal
    age = ctx.now_ms - signal.created_at
    passed = age < signal.ttl_ms
    sign = "<" if passed else ">="
    return CheckOutcome(
        "signal_fresh", passed, f"age {age / 1000:.1f} s {sign} ttl {signal.ttl_ms / 1000:g} s"
    )


def _max_positions(count: int, rules: RiskRules) -> CheckOutcome:
    passed = count < rules.max_positions
    sign = "<" if passed else ">="
    return CheckOutcome("max_positions", passed, f"open {count} {sign} max {rules.max_positions}")


def _no_position(symbol: str, positions: Sequence[Position]) -> CheckOutcome:
    held = [p for p in positions if p.symbol == symbol]
    if held:
        p = held[0]
        return CheckOutcome(
            "no_position", False, f"{p.side.value} {p.qty:g} {symbol} already open",
        )
    return CheckOutcome("no_position", True, f"no position on {symbol}")


def _stop_distance(signal: Signal, price: float, rules: RiskRules) -> CheckOutcome:
    stop = signal.stop_loss
    long = signal.side is Side.BUY
    where = "below" if long else "above"
    if price <= 0.0:
        return CheckOutcome("stop_distance", False, f"no current price ({price:g})")
    distance = (price - stop) / price if long else (stop - price) / price
    if distance <= 0.0:
        return CheckOutcome(
            "stop_distance", False, f"stop {stop:.10g} is not {where} price {price:.10g}"
        )
    passed = distance >= rules.min_stop - HAIR
    return CheckOutcome(
        "stop_distance", passed,
        f"stop {stop:.10g} is {distance:.3%} {where} price {price:.10g} {_cmp(passed)} "
        f"min {rules.min_stop:.3%}",
    )


def _entry_deviation(signal: Signal, price: float, rules: RiskRules) -> CheckOutcome:
    if price <= 0.0:
        return CheckOutcome("entry_deviation", False, f"no current price ({price:g})")
    deviation = abs(signal.entry_price - price) / price
    passed = deviation <= rules.max_entry_deviation + HAIR
    sign = "<=" if passed else ">"
    return CheckOutcome(
        "entry_deviation", passed,
        f"entry {signal.entry_price:.10g} is {deviation:.3%} from price {price:.10g} {sign} "
        f"max {rules.max_entry_deviation:.3%}",
    )


def _available_balance(ctx: EntryContext, notional: float, rules: RiskRules) -> CheckOutcome:
    """Margin at the configured leverage plus the taker fee of both legs (conservative: the
    exchange's order cost adds the closing fee too)."""
    needed = notional / rules.leverage + 2.0 * notional * ctx.fee_rate
    available = ctx.balance.available
    passed = available >= needed
    return CheckOutcome(
        "available_balance", passed,
        f"available {available:.2f} {_cmp(passed)} needed {needed:.2f} USDT "
        f"(margin at {rules.leverage:g}x + fees)",
    )


def _qty_valid(qty: float, instrument: Instrument) -> CheckOutcome:
    step = instrument.qty_step
    problems = []
    if qty <= 0.0:
        problems.append(f"qty {qty:g} is not positive")
    else:
        if not is_step_multiple(qty, step):
            problems.append(f"qty {qty!r} is not a multiple of step {step:g}")
        if qty < instrument.min_qty - HAIR * step:
            problems.append(f"qty {qty:g} < min {instrument.min_qty:g}")
        if 0.0 < instrument.max_market_qty < qty:
            problems.append(f"qty {qty:g} > max market qty {instrument.max_market_qty:g}")
    if problems:
        return CheckOutcome("qty_valid", False, "; ".join(problems))
    return CheckOutcome(
        "qty_valid", True, f"qty {qty:g} >= min {instrument.min_qty:g}, multiple of step {step:g}"
    )


def _stop_on_tick(stop: float, tick: float) -> CheckOutcome:
    passed = tick > 0.0 and is_step_multiple(stop, tick)
    return CheckOutcome(
        "stop_on_tick", passed,
        f"stop {stop!r} {'is' if passed else 'is not'} a multiple of tick {tick:g}",
    )


def _exposure(name: str, what: str, notional: float, limit: float, equity: float) -> CheckOutcome:
    cap = limit * equity
    passed = equity > 0.0 and notional <= cap + HAIR
    share = notional / equity if equity > 0.0 else float("inf")
    sign = "<=" if passed else ">"
    return CheckOutcome(
        name, passed,
        f"{what} {notional:.2f} USDT = {share:.2%} of equity {equity:.2f} {sign} max {limit:.0%}",
    )


def _data_fresh(age_ms: int, rules: RiskRules) -> CheckOutcome:
    passed = age_ms <= rules.stale_data_ms
    sign = "<=" if passed else ">"
    return CheckOutcome(
        "data_fresh", passed,
        f"market data {age_ms / 1000:.1f} s old {sign} stale after "
        f"{rules.stale_data_ms / 1000:g} s",
    )


def _daily_loss(ctx: EntryContext, rules: RiskRules) -> CheckOutcome:
    """The day's loss, realized plus the open positions' unrealized, reaching
    daily_loss_limit_pct of the day's starting equity blocks entries until the next UTC day;
    once reached it holds, though a later close wins (`day_loss_hit`)."""
    pnl = ctx.day_realized_pnl + ctx.day_unrealized_pnl
    loss = max(0.0, -pnl)
    limit = rules.daily_loss_limit * ctx.day_start_equity
    of = f"limit {limit:.2f} USDT ({rules.daily_loss_limit:.2%} of {ctx.day_start_equity:.2f})"
    parts = f"realized {ctx.day_realized_pnl:+.2f}, unrealized {ctx.day_unrealized_pnl:+.2f}"
    if ctx.day_loss_hit:
        return CheckOutcome(
            "daily_loss", False,
            f"{of} reached earlier today: no entries until the next UTC day "
            f"(day's loss now {loss:.2f}: {parts})",
        )
    passed = loss < limit - HAIR
    sign = "<" if passed else ">="
    return CheckOutcome("daily_loss", passed, f"day's loss {loss:.2f} ({parts}) {sign} {of}")


def daily_loss_reached(
    realized_pnl: float, unrealized_pnl: float, day_start_equity: float, rules: RiskRules,
) -> bool:
    """True when the day's loss (realized plus unrealized) reaches the daily loss limit."""
    loss = max(0.0, -(realized_pnl + unrealized_pnl))
    return day_start_equity > 0.0 and loss >= rules.daily_loss_limit * day_start_equity - HAIR


def _cooldown(ctx: EntryContext, rules: RiskRules) -> CheckOutcome:
    """No entry on a symbol within reentry_cooldown_s of its last close, whoever closed it."""
    cooldown_s = rules.reentry_cooldown_ms / 1000
    last = ctx.last_close_ms
    if last is None:
        return CheckOutcome(
            "cooldown", True, f"no close on {ctx.signal.symbol} known; cooldown {cooldown_s:g} s",
        )
    since = ctx.now_ms - last
    passed = since >= rules.reentry_cooldown_ms
    sign = ">=" if passed else "<"
    return CheckOutcome(
        "cooldown", passed,
        f"last close on {ctx.signal.symbol} {since / 1000:.1f} s ago {sign} cooldown "
        f"{cooldown_s:g} s",
    )


def _stop_streak(ctx: EntryContext, rules: RiskRules) -> CheckOutcome:
    until = streak_paused_until(ctx.recent_stop_times_ms, rules)
    window_min = rules.stop_streak_window_ms / MINUTE_MS
    if until is not None and ctx.now_ms < until:
        return CheckOutcome(
            "stop_streak", False,
            f"{rules.stop_streak_count} stops within {window_min:g} min: paused for "
            f"{(until - ctx.now_ms) / MINUTE_MS:.1f} more min",
        )
    recent = sum(
        1 for t in ctx.recent_stop_times_ms if ctx.now_ms - t <= rules.stop_streak_window_ms
    )
    return CheckOutcome(
        "stop_streak", True,
        f"{recent} stops in the last {window_min:g} min, pause at {rules.stop_streak_count}",
    )
