"""Entry checks and sizing (DESIGN.md §5-§7) with the default numbers, at and across each limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from densitytui.config import parse_config
from densitytui.model import (
    Balance,
    BookSide,
    CheckOutcome,
    Instrument,
    Position,
    Side,
    Signal,
    SignalKind,
)
from densitytui.strategy.checks import (
    EntryContext,
    RiskRules,
    failed,
    run_checks,
    size_entry,
    streak_paused_until,
)

NOW = 1_700_000_000_000
MIN = 60_000
RULES = RiskRules.from_config(parse_config({}))
INSTRUMENT = Instrument("TESTUSDT", 0.01, 0.001, 0.001, 5.0, 1_000.0)
NAMES = [
    "symbol_enabled", "symbol_mover", "signal_fresh", "not_handled", "max_positions",
    "no_position", "stop_distance", "entry_deviation", "density_exists", "available_balance",
    "qty_valid", "stop_on_tick", "min_notional", "position_exposure", "total_exposure", "min_balance",
    "book_valid", "data_fresh", "daily_loss", "stop_streak", "entries_not_paused", "reward_risk",
    "cooldown",
]


def signal(side: Side = Side.BUY, entry: float = 100.0, stop: float = 99.9,
           symbol: str = "TESTUSDT") -> Signal:
    return Signal(
        f"{symbol}-breakout-1-{NOW - 1_000}", symbol, SignalKind.BREAKOUT, side, entry, stop,
        BookSide.ASK if side is Side.BUY else BookSide.BID, 100.0, NOW - 1_000, 60_000,
        density_id=1,
    )


def position(symbol: str, qty: float, entry: float, mark: float = 0.0,
             closed: bool = False) -> Position:
    return Position(
        symbol, Side.BUY, qty, entry, NOW - 5 * MIN, "paper", stop_loss=entry * 0.99,
        mark_price=mark, closed_at=NOW - MIN if closed else None,
    )


def context(**changes: object) -> EntryContext:
    """An entry that passes every check: 0.1 TESTUSDT at 100 (10 USDT) on 1,000 USDT."""
    base = EntryContext(
        signal=signal(), now_ms=NOW, symbol_enabled=True, is_mover=True, already_handled=False,
        open_positions=(), last_price=100.0, density_exists=True,
        balance=Balance(equity=1_000.0, available=1_000.0, wallet=1_000.0),
        day_start_equity=1_000.0, day_realized_pnl=0.0, recent_stop_times_ms=(),
        book_valid=True, data_age_ms=200, instrument=INSTRUMENT, fee_rate=0.00055,
        entries_paused=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def check(name: str, ctx: EntryContext, qty: float = 0.1, rules: RiskRules = RULES) -> CheckOutcome:
    results = run_checks(ctx, qty, rules)
    assert [r.name for r in results] == NAMES
    [result] = [r for r in results if r.name == name]
    return result


def test_a_good_entry_passes_every_check_and_each_names_its_numbers() -> None:
    results = run_checks(context(), 0.1, RULES)
    assert [r.name for r in results] == NAMES
    assert failed(results) == []
    details = {r.name: r.detail for r in results}
    assert details["max_positions"] == "open 0 < max 10"
    assert details["stop_distance"] == "stop 99.9 is 0.100% below price 100 >= min 0.050%"
    assert details["available_balance"] == (
        "available 1000.00 >= needed 1.01 USDT (margin at 10x + fees)"
    )
    assert details["position_exposure"] == (
        "position 10.00 USDT = 1.00% of equity 1000.00 <= max 5%"
    )


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("symbol_enabled", {"symbol_enabled": False}),
        ("symbol_mover", {"is_mover": False}),
        ("not_handled", {"already_handled": True}),
        ("density_exists", {"density_exists": False}),
        ("book_valid", {"book_valid": False}),
        ("entries_not_paused", {"entries_paused": True}),
    ],
)
def test_each_flag_blocks_under_its_own_name(name: str, changes: dict) -> None:
    results = run_checks(context(**changes), 0.1, RULES)
    assert [r.name for r in failed(results)] == [name]


def test_signal_ttl_edge() -> None:
    created = NOW - 1_000
    assert check("signal_fresh", context(now_ms=created + 59_999)).passed
    result = check("signal_fresh", context(now_ms=created + 60_000))
    assert not result.passed and result.detail == "age 60.0 s >= ttl 60 s"


def test_max_positions_counts_open_positions_only() -> None:
    nine = [position(f"S{i}USDT", 0.01, 100.0) for i in range(9)]
    closed = [position("OLDUSDT", 0.01, 100.0, closed=True)]
    assert check("max_positions", context(open_positions=nine + closed)).passed
    ten = [*nine, position("S9USDT", 0.01, 100.0)]
    result = check("max_positions", context(open_positions=ten))
    assert not result.passed and result.detail == "open 10 >= max 10"


def test_one_position_per_symbol() -> None:
    assert check("no_position", context(open_positions=[position("OTHERUSDT", 1, 5.0)])).passed
    result = check("no_position", context(open_positions=[position("TESTUSDT", 0.2, 100.0)]))
    assert not result.passed and result.detail == "Buy 0.2 TESTUSDT already open"


@pytest.mark.parametrize(
    ("side", "stop", "passed"),
    [
        (Side.BUY, 99.95, True),  # exactly 0.05 % below 100
        (Side.BUY, 99.96, False),  # 0.04 %
        (Side.BUY, 100.01, False),  # on the wrong side
        (Side.SELL, 100.05, True),
        (Side.SELL, 100.04, False),
        (Side.SELL, 99.99, False),
    ],
)
def test_stop_distance_min_both_sides(side: Side, stop: float, passed: bool) -> None:
    result = check("stop_distance", context(signal=signal(side, 100.0, stop)))
    assert result.passed is passed, result.detail


def test_stop_distance_is_measured_from_the_current_price() -> None:
    # Signalled at 100 with the stop 0.1 % away; price has since fallen to 99.94 (0.04 % above).
    result = check("stop_distance", context(last_price=99.94))
    assert not result.passed
    assert result.detail == "stop 99.9 is 0.040% below price 99.94 < min 0.050%"


@pytest.mark.parametrize(
    ("side", "entry", "passed"),
    [(Side.BUY, 101.0, True), (Side.BUY, 101.01, False), (Side.SELL, 99.0, True),
     (Side.SELL, 98.99, False)],
)
def test_entry_within_one_percent_of_the_price(side: Side, entry: float, passed: bool) -> None:
    stop = 90.0 if side is Side.BUY else 110.0
    result = check("entry_deviation", context(signal=signal(side, entry, stop)))
    assert result.passed is passed, result.detail


def test_available_balance_covers_margin_and_fees() -> None:
    # 0.001 x 61659.7 = 61.6597 USDT: margin 6.16597 + fees 2 x 0.055 % = 0.0678257 → 6.2338.
    bitcoin = Instrument("BTCUSDT", 0.1, 0.001, 0.001, 5.0, 100.0)
    ctx = context(
        signal=signal(entry=61659.7, stop=61598.0, symbol="BTCUSDT"), last_price=61659.7,
        instrument=bitcoin, balance=Balance(equity=2_000.0, available=6.24, wallet=2_000.0),
    )
    assert check("available_balance", ctx, qty=0.001).passed
    short = replace(ctx, balance=Balance(equity=2_000.0, available=6.23, wallet=2_000.0))
    result = check("available_balance", short, qty=0.001)
    assert not result.passed and result.detail.startswith("available 6.23 < needed 6.23 USDT")


@pytest.mark.parametrize(
    ("qty", "passed", "detail"),
    [
        (0.1, True, "qty 0.1 >= min 0.001, multiple of step 0.001"),
        (0.001 * 3, True, "qty 0.003 >= min 0.001, multiple of step 0.001"),
        (0.0015, False, "qty 0.0015 is not a multiple of step 0.001"),
        (0.0, False, "qty 0 is not positive"),
        (1_000.001, False, "qty 1000 > max market qty 1000"),
    ],
)
def test_qty_on_the_step_grid_and_within_the_instrument(qty: float, passed: bool,
                                                        detail: str) -> None:
    result = check("qty_valid", context(balance=Balance(1e9, 1e9, 1e9)), qty=qty)
    assert result.passed is passed
    assert result.detail == detail


def test_stop_on_the_tick_grid() -> None:
    assert check("stop_on_tick", context(signal=signal(stop=99.9))).detail == (
        "stop 99.9 is a multiple of tick 0.01"
    )
    result = check("stop_on_tick", context(signal=signal(stop=99.905)))
    assert not result.passed and result.detail == "stop 99.905 is not a multiple of tick 0.01"


def test_qty_below_the_instrument_minimum() -> None:
    coarse = Instrument("TESTUSDT", 0.01, 0.001, 0.01, 5.0, 1_000.0)
    result = check("qty_valid", context(instrument=coarse), qty=0.009)
    assert not result.passed and result.detail == "qty 0.009 < min 0.01"


def test_min_notional() -> None:
    assert check("min_notional", context(), qty=0.05).passed  # 5.00 USDT
    result = check("min_notional", context(), qty=0.049)
    assert not result.passed and result.detail == "notional 4.90 < min 5 USDT"


def test_per_position_exposure_edge() -> None:
    assert check("position_exposure", context(), qty=0.5).passed  # 50 USDT = 5 % of 1,000
    result = check("position_exposure", context(), qty=0.501)
    assert not result.passed
    assert result.detail == "position 50.10 USDT = 5.01% of equity 1000.00 > max 5%"


def test_total_exposure_counts_open_positions_at_mark_price() -> None:
    # Nine positions of 50 USDT at mark (45 at entry) + 50 new = 500 = 50 % of 1,000.
    held = [position(f"S{i}USDT", 1.0, 45.0, mark=50.0) for i in range(9)]
    assert check("total_exposure", context(open_positions=held), qty=0.5).passed
    result = check("total_exposure", context(open_positions=held), qty=0.51)
    assert not result.passed and result.detail.startswith("total 501.00 USDT = 50.10%")
    # Closed positions do not count.
    closed = [position(f"S{i}USDT", 1.0, 45.0, mark=50.0, closed=True) for i in range(9)]
    assert check("total_exposure", context(open_positions=closed), qty=5.0).passed


def test_min_balance_edge() -> None:
    assert check("min_balance", context(balance=Balance(10.0, 10.0, 10.0)), qty=0.001).passed
    result = check("min_balance", context(balance=Balance(9.99, 9.99, 9.99)), qty=0.001)
    assert not result.passed and result.detail == "equity 9.99 < min 10 USDT"


def test_stale_data_edge() -> None:
    assert check("data_fresh", context(data_age_ms=30_000)).passed
    result = check("data_fresh", context(data_age_ms=30_001))
    assert not result.passed and result.detail == "market data 30.0 s old > stale after 30 s"


def test_daily_loss_limit_edge() -> None:
    assert check("daily_loss", context(day_realized_pnl=-49.99)).passed
    assert check("daily_loss", context(day_realized_pnl=120.0)).passed
    result = check("daily_loss", context(day_realized_pnl=-50.0))
    assert not result.passed
    assert result.detail == (
        "day's loss 50.00 (realized -50.00, unrealized +0.00) >= limit 50.00 USDT "
        "(5.00% of 1000.00)"
    )
    # Open positions' losses count; once reached the limit holds though the PnL recovers.
    assert not check("daily_loss", context(day_realized_pnl=-20.0, day_unrealized_pnl=-30.0)).passed
    held = check("daily_loss", context(day_realized_pnl=10.0, day_loss_hit=True))
    assert not held.passed and "no entries until the next UTC day" in held.detail


def test_cooldown_after_a_close_on_the_symbol() -> None:
    assert check("cooldown", context(last_close_ms=None)).passed
    assert check("cooldown", context(last_close_ms=NOW - 60_000)).passed
    result = check("cooldown", context(last_close_ms=NOW - 2_000))
    assert not result.passed
    assert result.detail == "last close on TESTUSDT 2.0 s ago < cooldown 60 s"


def test_stop_streak_window_and_pause_edges() -> None:
    t = NOW - 60 * MIN
    # Three stops exactly 30 min first to last: a streak, paused until the last + 30 min.
    streak = (t, t + 10 * MIN, t + 30 * MIN)
    assert streak_paused_until(streak, RULES) == t + 60 * MIN
    result = check("stop_streak", context(recent_stop_times_ms=streak, now_ms=t + 60 * MIN - 1))
    assert not result.passed and result.detail.startswith("3 stops within 30 min: paused")
    assert check("stop_streak", context(recent_stop_times_ms=streak, now_ms=t + 60 * MIN)).passed
    # One millisecond wider: no streak.
    loose = (t, t + 10 * MIN, t + 30 * MIN + 1)
    assert streak_paused_until(loose, RULES) is None
    result = check("stop_streak", context(recent_stop_times_ms=loose, now_ms=t + 31 * MIN))
    # The first stop is 31 min old by now: two are left in the window.
    assert result.passed and result.detail == "2 stops in the last 30 min, pause at 3"


def test_a_later_stop_does_not_end_an_earlier_streak_pause() -> None:
    t = NOW - 60 * MIN
    stops = (t + 45 * MIN, t, t + 10 * MIN, t + 20 * MIN)  # any order
    assert streak_paused_until(stops, RULES) == t + 50 * MIN
    assert not check("stop_streak", context(recent_stop_times_ms=stops, now_ms=t + 46 * MIN)).passed


# ---- sizing --------------------------------------------------------------------------------


def test_fixed_notional_on_the_step_grid_without_float_noise() -> None:
    balance = Balance(1_000.0, 1_000.0, 1_000.0)
    qty, how = size_entry(signal(entry=100.0), balance, INSTRUMENT, RULES)
    assert repr(qty) == "0.1" and how == "10 USDT / 100 = qty 0.1"
    qty, _ = size_entry(signal(entry=3.0, stop=2.9), balance, INSTRUMENT, RULES)
    assert repr(qty) == "3.333"  # 10 / 3 = 3.3333..., floored to the step
    xrp = Instrument("XRPUSDT", 0.0001, 1.0, 1.0, 5.0, 1e6)
    qty, _ = size_entry(signal(entry=0.5862, stop=0.58), balance, xrp, RULES)
    assert repr(qty) == "17.0"  # 10 / 0.5862 = 17.06


def test_fixed_notional_raised_to_the_minimum_only_within_the_exposure_limit() -> None:
    bitcoin = Instrument("BTCUSDT", 0.1, 0.001, 0.001, 5.0, 100.0)
    entry = signal(entry=61659.7, stop=61598.0, symbol="BTCUSDT")
    # 10 / 61659.7 = 0.000162 floors to 0; the minimum 0.001 is 61.66 USDT, above 5 % of 1,000.
    qty, why = size_entry(entry, Balance(1_000.0, 1_000.0, 1_000.0), bitcoin, RULES)
    assert qty == 0.0
    assert why.endswith("the instrument minimum 0.001 (61.66 USDT) exceeds 5% of equity "
                        "1000.00 = 50.00 USDT")
    # With 2,000 USDT the limit is 100 USDT: raised to exactly 0.001.
    qty, how = size_entry(entry, Balance(2_000.0, 2_000.0, 2_000.0), bitcoin, RULES)
    assert repr(qty) == "0.001" and "raised to the instrument minimum 0.001" in how


def test_min_notional_raises_the_qty_to_whole_steps() -> None:
    # min notional 20 USDT at 100 needs 0.2; 10 USDT gives only 0.1.
    strict = Instrument("TESTUSDT", 0.01, 0.001, 0.001, 20.0, 1_000.0)
    qty, _ = size_entry(signal(entry=100.0), Balance(1_000.0, 1_000.0, 1_000.0), strict, RULES)
    assert repr(qty) == "0.2"
    # 20 USDT at 61659.7 needs 0.000324..., ceiled to 0.001.
    bitcoin = Instrument("BTCUSDT", 0.1, 0.001, 0.0001, 20.0, 100.0)
    big = Balance(5_000.0, 5_000.0, 5_000.0)
    qty, _ = size_entry(signal(entry=61659.7, stop=61598.0), big, bitcoin, RULES)
    assert repr(qty) == "0.001"


def test_risk_per_trade_sizes_the_loss_at_the_stop() -> None:
    rules = RiskRules(risk_per_trade_pct=1.0)
    balance = Balance(1_000.0, 1_000.0, 1_000.0)
    # 1 % of 1,000 = 10 USDT over a 25-point stop: 0.4 (40 USDT, within 5 % of equity).
    qty, how = size_entry(signal(entry=100.0, stop=75.0), balance, INSTRUMENT, rules)
    assert repr(qty) == "0.4" and how.startswith("risk 10.00 USDT (1.00% of equity 1000.00)")
    # A 0.1-point stop would need 100 (10,000 USDT): capped at 5 % of equity, 0.5.
    qty, _ = size_entry(signal(entry=100.0, stop=99.9), balance, INSTRUMENT, rules)
    assert repr(qty) == "0.5"
    # Short side: same distance above.
    qty, _ = size_entry(signal(Side.SELL, entry=100.0, stop=125.0), balance, INSTRUMENT, rules)
    assert repr(qty) == "0.4"


def test_risk_per_trade_below_the_minimum_is_refused_not_raised() -> None:
    rules = RiskRules(risk_per_trade_pct=1.0)
    coarse = Instrument("TESTUSDT", 0.01, 1.0, 1.0, 5.0, 1_000.0)
    qty, why = size_entry(signal(entry=100.0, stop=75.0), Balance(1_000.0, 1e3, 1e3), coarse, rules)
    assert qty == 0.0 and why.endswith("qty 0 < instrument minimum 1")
    qty, why = size_entry(signal(entry=100.0, stop=100.0), Balance(1e3, 1e3, 1e3), coarse, rules)
    assert qty == 0.0 and why == "stop 100 at the entry price"


def test_rules_from_config_use_the_symbols_min_stop() -> None:
    config = parse_config({
        "risk": {"max_positions": 4, "stop_streak_window_min": 15},
        "symbols": {"XRPUSDT": {"signals": {"min_stop_pct": 0.2}}},
    })
    rules = RiskRules.from_config(config, "XRPUSDT")
    assert (rules.max_positions, rules.stop_streak_window_ms, rules.min_stop) == (4, 900_000, 0.002)
    assert RiskRules.from_config(config).min_stop == 0.0005
    assert not check("stop_distance", context(), rules=rules).passed


# ---- reward/risk: room to the nearest opposing density ---------------------------------


def wall(side: BookSide, low: float, high: float, density_id: int = 5, frozen: bool = False):
    from densitytui.model import Density

    return Density(
        "TESTUSDT", side, (low + high) / 2, 1_000.0, 1_000.0, NOW - MIN, NOW,
        confirmed_at=NOW - MIN, id=density_id, price_low=low, price_high=high, frozen=frozen,
    )


@pytest.mark.parametrize("long", [True, False])
def test_reward_risk_needs_room_to_the_nearest_opposing_density(long: bool) -> None:
    # Entry 100, stop 0.1 % away, default 2 x: the opposing wall's near edge must be >= 0.2 %
    # ahead (100.20 above a long, 99.80 below a short).
    side, opposing = (Side.BUY, BookSide.ASK) if long else (Side.SELL, BookSide.BID)
    sig = signal(side, 100.0, 99.9 if long else 100.1)
    sig = replace(sig, density_id=1)
    sign = 1 if long else -1

    def at(edge: float, far: float) -> CheckOutcome:
        low, high = sorted((100.0 + sign * edge, 100.0 + sign * far))
        return check("reward_risk", context(signal=sig, densities=[wall(opposing, low, high)]))

    open_room = check("reward_risk", context(signal=sig))
    assert open_room.passed and open_room.detail.startswith(f"no {opposing.value} density ahead")
    assert at(0.20, 0.30).passed
    inside = at(0.19, 0.30)
    assert not inside.passed
    assert inside.detail == (
        f"room 0.190% to {opposing.value} density {100.0 + sign * 0.245:.10g} < 2 x stop "
        "0.100% = 0.200%"
    )
    assert [r.name for r in failed(run_checks(
        context(signal=sig, densities=[wall(opposing, *sorted((100.0 + sign * 0.19, 100.0 + sign * 0.3)))]),
        0.1, RULES,
    ))] == ["reward_risk"]
    # A wall straddling the price leaves no room; one wholly behind the price is not ahead.
    assert not at(-0.05, 0.10).passed
    assert at(-0.30, -0.10).passed
    # The signal's own density and frozen walls do not count; the nearest one decides.
    low, high = sorted((100.0 + sign * 0.05, 100.0 + sign * 0.1))
    own = wall(opposing, low, high, density_id=1)
    frozen = wall(opposing, low, high, density_id=8, frozen=True)
    far_low, far_high = sorted((100.0 + sign * 0.5, 100.0 + sign * 0.6))
    assert check("reward_risk", context(
        signal=sig, densities=[own, frozen, wall(opposing, far_low, far_high)],
    )).passed
    near = wall(opposing, low, high, density_id=9)
    assert not check("reward_risk", context(
        signal=sig, densities=[wall(opposing, far_low, far_high), near],
    )).passed
    # 0 turns it off; the ratio comes from signals.min_reward_risk.
    off = RiskRules.from_config(parse_config({"signals": {"min_reward_risk": 0}}))
    assert check("reward_risk", context(signal=sig, densities=[near]), rules=off).passed
