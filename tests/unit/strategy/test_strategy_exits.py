"""Exit rules and the break-even move (DESIGN.md §6), both sides, on real tapes, default numbers."""

from __future__ import annotations

import pytest

from densitytui.config import Config, TapeSection, parse_config
from densitytui.market.tape import Tape
from densitytui.model import BookSide, Density, Position, Side, SignalKind
from densitytui.strategy.exits import ExitRules, breakeven_stop, exit_decision
from tests.prints import trade

NOW = 1_700_000_000_000 + 4 * 3_600_000  # a round minute
MIN = 60_000
RULES = ExitRules.from_config(Config().default_strategy)
OWN = 5


def position(side: Side, entry: float = 100.0, opened_at: int = NOW - 20_000,
             stop: float | None = None) -> Position:
    return Position("BTCUSDT", side, 0.1, entry, opened_at, "paper", stop_loss=stop)


def density(side: BookSide, price: float, *, size: float = 1_000.0, density_id: int = OWN,
            confirmed: bool = True, width: float = 0.05) -> Density:
    return Density(
        "BTCUSDT", side, price, size, 1_000.0, NOW - MIN, NOW,
        confirmed_at=NOW - 50_000 if confirmed else None, id=density_id,
        price_low=price - width, price_high=price + width,
    )


Print = tuple[int, float, float, bool]
"""A trade written as (ts, price, size, taker bought)."""


def tape_of(prints: list[Print]) -> Tape:
    tape = Tape(TapeSection())
    for one in sorted(prints):
        tape.on_prints([trade(*one)])
    return tape


def steady(until: int = NOW, notional: float = 100.0) -> list[Print]:
    """A buy and a sell of `notional` USDT each second for the 15 s up to `until`."""
    return [
        (until - 15_000 + second * 1_000 + offset, 100.0, notional / 100.0, offset == 0)
        for second in range(1, 16)
        for offset in (0, 1)
    ]


def decide(pos: Position, last: float, tape: Tape, *, kind: SignalKind = SignalKind.BOUNCE,
           densities: list[Density] | None = None, rules: ExitRules = RULES, now: int = NOW):
    if densities is None:
        own = BookSide.BID if pos.side is Side.BUY else BookSide.ASK
        densities = [density(own, 99.0 if pos.side is Side.BUY else 101.0)]
    return exit_decision(pos, kind, OWN, now, last, densities, tape, rules)


def test_a_steady_tape_in_profit_keeps_the_position() -> None:
    assert decide(position(Side.BUY), 100.3, tape_of(steady())) is None
    assert decide(position(Side.SELL), 99.7, tape_of(steady())) is None


# ---- bounce density ------------------------------------------------------------------------


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_bounce_exits_when_its_density_erodes_to_65_percent(side: Side) -> None:
    wall = BookSide.BID if side is Side.BUY else BookSide.ASK
    held = density(wall, 99.0, size=360.0)  # 64 % eroded
    assert decide(position(side), 100.0, tape_of(steady()), densities=[held]) is None
    eroded = density(wall, 99.0, size=350.0)  # 65 %
    decision = decide(position(side), 100.0, tape_of(steady()), densities=[eroded])
    assert decision is not None and decision.reason == "bounce_eroded"
    assert decision.detail == f"{wall.value} density 99 eroded 65% >= 65%"


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_bounce_exits_when_its_density_is_gone_but_a_breakout_does_not(side: Side) -> None:
    other = density(BookSide.BID, 90.0, density_id=99)
    decision = decide(position(side), 100.0, tape_of(steady()), densities=[other])
    assert decision is not None and decision.reason == "density_gone"
    assert decide(position(side), 100.0, tape_of(steady()), densities=[other],
                  kind=SignalKind.BREAKOUT) is None


# ---- fixed take-profit ---------------------------------------------------------------------


@pytest.mark.parametrize(("side", "hit", "short_of"), [(Side.BUY, 101.0, 100.99),
                                                       (Side.SELL, 99.0, 99.01)])
def test_fixed_take_profit_when_set(side: Side, hit: float, short_of: float) -> None:
    rules = ExitRules(take_profit_pct=1.0)
    decision = decide(position(side), hit, tape_of(steady()), rules=rules)
    assert decision is not None and decision.reason == "take_profit"
    assert decision.detail == "profit 1.000% >= take-profit 1.000%"
    assert decide(position(side), short_of, tape_of(steady()), rules=rules) is None
    # Off by default.
    assert decide(position(side), hit, tape_of(steady())) is None


# ---- counter-aggression --------------------------------------------------------------------


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_counter_aggression_at_twice_the_volume_with_the_position(side: Side) -> None:
    long = side is Side.BUY
    with_us = (NOW - 5_000, 100.0, 10.0, long)  # 1,000 USDT
    against = (NOW - 1_000, 100.0, 20.0, not long)  # 2,000 USDT, also keeps velocity up
    gain = 100.3 if long else 99.7
    decision = decide(position(side), gain, tape_of([with_us, against]))
    assert decision is not None and decision.reason == "counter_aggression"
    mine, theirs = ("buy", "sell") if long else ("sell", "buy")
    assert decision.detail == (
        f"taker {theirs} 2,000 USDT >= 2 x taker {mine} 1,000 USDT over 10 s; "
        "net 0.190% after fees"
    )
    weaker = (NOW - 1_000, 100.0, 19.99, not long)  # 1,999 USDT
    assert decide(position(side), gain, tape_of([with_us, weaker])) is None
    # Only in profit.
    loss = 99.9 if long else 100.1
    assert decide(position(side), loss, tape_of([with_us, against])) is None


def test_counter_aggression_needs_volume_against() -> None:
    silent = tape_of([(NOW - 20_000, 100.0, 1.0, True)])
    assert decide(position(Side.BUY, opened_at=NOW - 1_000), 100.3, silent) is None


# ---- opposing density ----------------------------------------------------------------------


def test_opposing_ask_ahead_of_a_long() -> None:
    # Edge 100.45 is (100.45 - 100.30) / 100.30 = 0.150 % above price.
    wall = density(BookSide.ASK, 100.50, density_id=9)
    own = density(BookSide.BID, 99.0)
    decision = decide(position(Side.BUY), 100.30, tape_of(steady()), densities=[own, wall])
    assert decision is not None and decision.reason == "opposing_density"
    assert decision.detail == (
        "ask density 100.5 (edge 100.45) 0.150% ahead of price 100.3; net 0.190% after fees"
    )
    far = density(BookSide.ASK, 100.60, density_id=9)  # edge 0.249 % away
    assert decide(position(Side.BUY), 100.30, tape_of(steady()), densities=[own, far]) is None
    unconfirmed = density(BookSide.ASK, 100.50, density_id=9, confirmed=False)
    assert decide(position(Side.BUY), 100.30, tape_of(steady()),
                  densities=[own, unconfirmed]) is None
    frozen = density(BookSide.ASK, 100.50, density_id=9)
    frozen.frozen = True
    assert decide(position(Side.BUY), 100.30, tape_of(steady()), densities=[own, frozen]) is None
    # Not in profit: no take-profit.
    assert decide(position(Side.BUY), 99.95, tape_of(steady()), densities=[own, wall]) is None


def test_opposing_bid_below_a_short_but_not_its_own_density() -> None:
    # Edge 99.85 is 0.150 % below 100.00.
    wall = density(BookSide.BID, 99.80, density_id=9)
    own = density(BookSide.ASK, 101.0)
    entry = position(Side.SELL, entry=100.2)
    decision = decide(entry, 100.0, tape_of(steady()), densities=[own, wall])
    assert decision is not None and decision.reason == "opposing_density"
    # A breakout short's own (broken) bid density just below is not an opposing one.
    broken = density(BookSide.BID, 99.80)
    assert decide(entry, 100.0, tape_of(steady()), densities=[broken],
                  kind=SignalKind.BREAKOUT) is None


# ---- velocity fade -------------------------------------------------------------------------


def fading() -> Tape:
    """100 USDT a second from 14 s to 4 s before NOW, then nothing: 0 over 3 s vs 73 over 15 s."""
    return tape_of([(NOW - 15_000 + k * 1_000, 100.0, 1.0, k % 2 == 0) for k in range(1, 12)])


@pytest.mark.parametrize(("side", "gain"), [(Side.BUY, 100.3), (Side.SELL, 99.7)])
def test_velocity_fade_in_profit(side: Side, gain: float) -> None:
    decision = decide(position(side), gain, fading())
    assert decision is not None and decision.reason == "velocity_fade"
    assert decision.detail == (
        "velocity 0 USDT/s over 3 s < 0.5 x 73 USDT/s over 15 s; net 0.190% after fees"
    )
    assert decide(position(side), 100.0, fading()) is None  # no profit


def test_velocity_fade_waits_for_the_short_window_and_activity() -> None:
    assert decide(position(Side.BUY, opened_at=NOW - 2_999), 100.3, fading()) is None
    decision = decide(position(Side.BUY, opened_at=NOW - 3_000), 100.3, fading())
    assert decision is not None and decision.reason == "velocity_fade"
    # An idle tape at the open: no velocity either way, no exit.
    assert decide(position(Side.BUY, opened_at=NOW - MIN), 100.3, Tape(TapeSection())) is None


def test_velocity_fade_threshold_is_half_the_long_velocity() -> None:
    # 11 x 100 USDT from 14 s to 4 s ago, then 3 trades in the last 3 s. At 37 USDT each: short
    # 111 / 3 = 37 < half of (1,100 + 111) / 15 = 80.7. At 60 each: short 60 >= half of 85.3.
    early = [(NOW - 15_000 + k * 1_000, 100.0, 1.0, k % 2 == 0) for k in range(1, 12)]
    faded = early + [(NOW - 2_500 + k * 1_000, 100.0, 0.37, k % 2 == 0) for k in range(3)]
    held = early + [(NOW - 2_500 + k * 1_000, 100.0, 0.6, k % 2 == 0) for k in range(3)]
    decision = decide(position(Side.BUY), 100.3, tape_of(faded))
    assert decision is not None and decision.reason == "velocity_fade"
    assert decide(position(Side.BUY), 100.3, tape_of(held)) is None


# ---- range return --------------------------------------------------------------------------


def ranged_tape(entry: float, later: float) -> Tape:
    """A 4 h high of 101 three hours ago, a 1 h high of 100 half an hour ago (lows 99 and 100),
    the entry trade at NOW + 0.5 s, and a trade at `later` a minute on."""
    return tape_of([
        (NOW - 242 * MIN, 100.0, 1.0, True),  # history that covers the 4 h window
        (NOW - 180 * MIN, 101.0, 1.0, True),
        (NOW - 180 * MIN + 1, 99.0, 1.0, False),
        (NOW - 30 * MIN, 100.0, 1.0, True),
        (NOW + 500, entry, 1.0, True),
        (NOW + 70_000, later, 1.0, False),
    ])


@pytest.mark.parametrize(
    ("entry", "last", "reason", "hours_high"),
    [
        (100.5, 100.0, "range_return", "1 h high 100"),  # broke the 1 h high only
        (100.5, 100.1, None, ""),
        (101.5, 101.0, "range_return", "4 h high 101"),  # broke the 4 h high: judged on it
        (101.5, 101.2, None, ""),
        (99.9, 99.5, None, ""),  # entered inside the range: never a range return
    ],
)
def test_breakout_long_returning_into_the_range(entry: float, last: float, reason: str | None,
                                                hours_high: str) -> None:
    pos = position(Side.BUY, entry=entry, opened_at=NOW + 1_000)
    decision = decide(pos, last, ranged_tape(entry, last), kind=SignalKind.BREAKOUT,
                      densities=[], now=NOW + 70_000)
    assert (decision.reason if decision else None) == reason
    if decision:
        assert decision.detail == (
            f"price {last:g} back at or below the {hours_high} it broke out of at {entry:g}"
        )


def test_breakout_short_returning_into_the_range() -> None:
    pos = position(Side.SELL, entry=98.5, opened_at=NOW + 1_000)
    back = decide(pos, 99.0, ranged_tape(98.5, 99.0), kind=SignalKind.BREAKOUT, densities=[],
                  now=NOW + 70_000)
    assert back is not None and back.reason == "range_return"
    assert "back at or above the 4 h low 99" in back.detail
    assert decide(pos, 98.9, ranged_tape(98.5, 98.9), kind=SignalKind.BREAKOUT, densities=[],
                  now=NOW + 70_000) is None


def test_a_range_the_history_does_not_cover_is_unknown_not_judged() -> None:
    # Three hours of trades before the entry: the 4 h high (101) is not known, so a long that
    # broke it and came back below it is no range return; the covered 1 h window still counts.
    short_history = tape_of([
        (NOW - 180 * MIN, 101.0, 1.0, True),
        (NOW - 30 * MIN, 100.0, 1.0, True),
        (NOW + 500, 101.5, 1.0, True),
        (NOW + 70_000, 101.0, 1.0, False),
    ])
    pos = position(Side.BUY, entry=101.5, opened_at=NOW + 1_000)
    assert decide(pos, 101.0, short_history, kind=SignalKind.BREAKOUT, densities=[],
                  now=NOW + 70_000) is None
    pos = position(Side.BUY, entry=100.5, opened_at=NOW + 1_000)
    back = decide(pos, 100.0, short_history, kind=SignalKind.BREAKOUT, densities=[],
                  now=NOW + 70_000)
    assert back is not None and "1 h high 100" in back.detail


# ---- break-even ----------------------------------------------------------------------------


FEE = 0.00055


def test_breakeven_long_covers_fees_on_both_legs_rounded_up() -> None:
    # 100 x 1.00055 / 0.99945 = 100.11006..., ceiled to the tick: 100.12.
    assert breakeven_stop(position(Side.BUY, stop=99.9), 100.5, FEE, 0.01, RULES) == 100.12
    assert breakeven_stop(position(Side.BUY, stop=99.9), 100.49, FEE, 0.01, RULES) is None
    assert breakeven_stop(position(Side.BUY), 100.5, FEE, 0.01, RULES) == 100.12
    # Not an improvement: already there or better.
    assert breakeven_stop(position(Side.BUY, stop=100.12), 100.6, FEE, 0.01, RULES) is None
    # 61659.7 x 1.00055 / 0.99945 = 61727.563, ceiled to 0.1: 61727.6.
    entry = position(Side.BUY, entry=61659.7, stop=61598.0)
    assert breakeven_stop(entry, 62000.0, FEE, 0.1, RULES) == 61727.6


def test_breakeven_short_covers_fees_rounded_down() -> None:
    # 100 x 0.99945 / 1.00055 = 99.89006..., floored: 99.89.
    assert breakeven_stop(position(Side.SELL, stop=100.1), 99.5, FEE, 0.01, RULES) == 99.89
    assert breakeven_stop(position(Side.SELL, stop=100.1), 99.51, FEE, 0.01, RULES) is None
    assert breakeven_stop(position(Side.SELL, stop=99.89), 99.0, FEE, 0.01, RULES) is None
    # A stop of 0 is no stop.
    assert breakeven_stop(position(Side.SELL, stop=0.0), 99.5, FEE, 0.01, RULES) == 99.89
    # 61659.7 x 0.99945 / 1.00055 = 61591.912, floored to 0.1: 61591.9.
    entry = position(Side.SELL, entry=61659.7, stop=61721.4)
    assert breakeven_stop(entry, 61300.0, FEE, 0.1, RULES) == 61591.9


def test_breakeven_never_at_or_beyond_the_price() -> None:
    eager = ExitRules(breakeven_trigger_pct=0.0)
    # +0.1 % is below the fee-covering 100.12: the stop would be above price.
    assert breakeven_stop(position(Side.BUY), 100.1, FEE, 0.01, eager) is None
    assert breakeven_stop(position(Side.SELL), 99.9, FEE, 0.01, eager) is None


def test_exit_rules_from_config_with_overrides() -> None:
    config = parse_config({
        "exits": {"opposing_density_pct": 0.3},
        "symbols": {"BTCUSDT": {"exits": {"take_profit_pct": 2.0}, "tape": {"range_hours": [2]}}},
    })
    rules = ExitRules.from_config(config.strategy("BTCUSDT"))
    assert (rules.take_profit, rules.opposing_distance, rules.range_hours) == (0.02, 0.003, (2.0,))
    assert ExitRules.from_config(config.strategy("ETHUSDT")).take_profit == 0.0


# ---- dynamic take-profits only when the close is net profitable ----------------------------


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_dynamic_take_profits_wait_for_a_net_gain_after_both_fees(side: Side) -> None:
    # Entry 100, taker fee 0.055 % a leg, margin 0.05 %: a long needs
    # (P - 100) / 100 - 0.00055 x (100 + P) / 100 >= 0.0005, i.e. P >= 100.1601 (a short
    # P <= 99.8401). Just short of that every dynamic take-profit holds off, whatever fires.
    long = side is Side.BUY
    wall = density(BookSide.ASK if long else BookSide.BID, 100.5 if long else 99.5, density_id=9)
    breakout = SignalKind.BREAKOUT
    for reason, tape, walls in (
        ("velocity_fade", fading(), []),
        ("counter_aggression", tape_of([(NOW - 1_000, 100.0, 20.0, not long)]), []),
        ("opposing_density", tape_of(steady()), [wall]),
    ):
        rules = ExitRules(opposing_density_pct=0.5)
        above, below = (100.17, 100.15) if long else (99.83, 99.85)
        decision = decide(position(side), above, tape, densities=walls, rules=rules,
                          kind=breakout)
        assert decision is not None and decision.reason == reason, reason
        assert decision.detail.endswith("after fees")
        net = float(decision.detail.rsplit("net ", 1)[1].split("%")[0])
        assert net >= 0.05
        # Gross +0.15 % is net +0.04 %: below the margin, no exit.
        assert decide(position(side), below, tape, densities=walls, rules=rules,
                      kind=breakout) is None, reason
    # The margin is configurable; 0 with no fee brings back any gross gain.
    loose = ExitRules(min_net_profit_pct=0.0, fee_rate=0.0)
    gain = 100.01 if long else 99.99
    decision = decide(position(side), gain, fading(), rules=loose, kind=breakout)
    assert decision is not None and decision.reason == "velocity_fade"
    assert decide(position(side), gain, fading(), kind=breakout) is None


# ---- the stop re-anchored to the fill ------------------------------------------------------


def test_the_stop_keeps_its_distance_from_the_fill_not_from_the_signal_price() -> None:
    from densitytui.strategy.exits import reanchored_stop

    # Signal at 100.00 with its stop 0.1 % below (99.90); the long filled at 100.08: the stop
    # goes to 100.08 x 0.999 = 99.97992, floored onto the 0.01 grid: 99.97 (0.110 % away).
    assert reanchored_stop(Side.BUY, 100.0, 99.9, 100.08, 0.01, 0.0005) == 99.97
    # A short filled lower at 99.92: 99.92 x 1.001 = 100.01992, ceiled: 100.02.
    assert reanchored_stop(Side.SELL, 100.0, 100.1, 99.92, 0.01, 0.0005) == 100.02
    # Never closer than the minimum: a signal stop only 0.02 % away becomes 0.05 % from the fill.
    assert reanchored_stop(Side.BUY, 100.0, 99.98, 100.0, 0.01, 0.0005) == 99.95
    # A fill at the signal price leaves the stop where it was.
    assert reanchored_stop(Side.BUY, 100.0, 99.9, 100.0, 0.01, 0.0005) == 99.9
