"""Breakout and bounce rules (DESIGN.md §4) with the default numbers, both sides, on real tapes.

Expected stops are worked out by hand in the comments: default breakout stop 0.1 % from entry,
min 0.05 %, bounce stop 0.3 % beyond the far edge, tick 0.01.
"""

from __future__ import annotations

import pytest

from densitytui.config import Config, ConfigError, TapeSection, parse_config
from densitytui.market.tape import Tape
from densitytui.model import BookSide, Density, Side, SignalKind, Trend
from densitytui.strategy.grid import ceil_to_step, floor_to_step, is_step_multiple
from densitytui.strategy.signals import SignalRules, find_signals, signal_still_valid
from tests.prints import trade

NOW = 1_700_000_000_000 + 4 * 3_600_000  # a round minute
TICK = 0.01
# The near-edge crossing with any share of the wall left: the through rule at its loosest, so the
# tests below judge the other conditions; the default far-edge rule has its own tests.
NEAR_EDGE = {"signals": {"breakout_through": "remaining", "breakout_max_remaining_pct": 100.0}}
RULES = SignalRules.from_config(parse_config(NEAR_EDGE).default_strategy)


def density(
    side: BookSide, price: float, low: float, high: float, *, peak: float = 1_000.0,
    size: float = 1_000.0, eaten: float = 0.0, pulled: float = 0.0, confirmed: bool = True,
    frozen: bool = False, density_id: int = 7,
) -> Density:
    return Density(
        "BTCUSDT", side, price, size, peak, NOW - 60_000, NOW,
        confirmed_at=NOW - 50_000 if confirmed else None, eaten=eaten, pulled=pulled,
        levels=3, id=density_id, price_low=low, price_high=high, frozen=frozen,
    )


def calm_tape(price: float = 100.0) -> Tape:
    """A minute of one small trade a second: no spike, and a prior range at `price`."""
    tape = Tape(TapeSection())
    for second in range(60):
        tape.on_prints([trade(NOW - 61_000 + second * 1_000, price, 1.0, second % 2 == 0)])
    return tape


def find(trend: Trend, last: float, prev: float, densities: list[Density], tape: Tape | None = None,
         **kwargs: object) -> list:
    return find_signals(
        "BTCUSDT", NOW, trend, last, prev, densities, tape or calm_tape(), TICK, RULES,
        **kwargs,  # type: ignore[arg-type]
    )


# ---- grid ----------------------------------------------------------------------------------


def test_rounding_goes_to_the_grid_without_float_noise() -> None:
    assert ceil_to_step(100.041, 0.01) == 100.05
    assert floor_to_step(100.049, 0.01) == 100.04
    # 100.05 - 0.01 is 100.03999999999999 in binary: it is the grid point 100.04.
    assert floor_to_step(100.05 - 0.01, 0.01) == 100.04
    assert ceil_to_step(100.05 - 0.01, 0.01) == 100.04
    assert ceil_to_step(0.1 + 0.2, 0.1) == 0.3
    assert floor_to_step(10 / 61659.7, 0.001) == 0.0
    assert repr(floor_to_step(0.0035, 0.001)) == "0.003"
    assert is_step_multiple(0.003, 0.001) and not is_step_multiple(0.0035, 0.001)
    with pytest.raises(ValueError, match="step must be positive"):
        floor_to_step(1.0, 0.0)


# ---- breakout ------------------------------------------------------------------------------


def eaten_ask(**kwargs: object) -> Density:
    """An ask cluster 100.05..100.15 (anchor 100.10), 40 % eroded, 35 % eaten, 5 % pulled."""
    values: dict = {"size": 600.0, "eaten": 350.0, "pulled": 50.0, **kwargs}
    return density(BookSide.ASK, 100.10, 100.05, 100.15, **values)


def eaten_bid(**kwargs: object) -> Density:
    """A bid cluster 99.85..99.95 (anchor 99.90), 40 % eroded, 35 % eaten, 5 % pulled."""
    values: dict = {"size": 600.0, "eaten": 350.0, "pulled": 50.0, **kwargs}
    return density(BookSide.BID, 99.90, 99.85, 99.95, **values)


def test_breakout_long_when_a_trade_reaches_an_eaten_ask_wall() -> None:
    [signal] = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask()])
    assert signal.kind is SignalKind.BREAKOUT and signal.side is Side.BUY
    assert signal.entry_price == 100.05
    # min(100.05 x 0.999 = 99.94995, 100.05 - 0.01 = 100.04) = 99.94995, floored: 99.94.
    assert signal.stop_loss == 99.94
    assert (signal.density_id, signal.density_side, signal.density_price) == (7, BookSide.ASK, 100.10)
    assert signal.id == f"BTCUSDT-breakout-7-{NOW}"
    assert signal.created_at == NOW and signal.ttl_ms == 60_000
    assert "erosion 40% (eaten 35%, pulled 5%)" in signal.reasons
    assert "trend UP" in signal.reasons


def test_breakout_short_when_a_trade_reaches_an_eaten_bid_wall() -> None:
    [signal] = find(Trend.DOWN, last=99.95, prev=99.96, densities=[eaten_bid()],
                    change_24h_pct=-5.14)
    assert signal.kind is SignalKind.BREAKOUT and signal.side is Side.SELL
    # max(99.95 x 1.001 = 100.04995, 99.95 + 0.01 = 99.96) = 100.04995, ceiled: 100.05.
    assert signal.stop_loss == 100.05
    assert "trend DOWN -5.1%" in signal.reasons


def test_breakout_stop_clears_the_cluster_far_edge_not_the_anchor() -> None:
    # A sweep to 100.20: 0.1 % below is 100.0998, above the cluster's low edge 100.05, so the stop
    # goes one tick below that edge: 100.04 (not 100.09 below the anchor).
    [long] = find(Trend.UP, last=100.20, prev=100.00, densities=[eaten_ask()])
    assert long.stop_loss == 100.04
    # Mirror: a sweep to 99.80 through bids 99.85..99.95: stop one tick above the high edge.
    [short] = find(Trend.DOWN, last=99.80, prev=100.00, densities=[eaten_bid()])
    assert short.stop_loss == 99.96


@pytest.mark.parametrize("up", [True, False])
def test_breakout_needs_the_last_trade_to_cross_the_near_edge(up: bool) -> None:
    if up:
        wall, trend, inside, outside = eaten_ask(), Trend.UP, 100.05, 100.04
    else:
        wall, trend, inside, outside = eaten_bid(), Trend.DOWN, 99.95, 99.96
    assert find(trend, last=inside, prev=outside, densities=[wall])
    # Already at the wall before: no new crossing.
    assert not find(trend, last=inside, prev=inside, densities=[wall])
    # Not reached yet.
    assert not find(trend, last=outside, prev=outside, densities=[wall])


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"frozen": True}, "frozen"),
        ({"confirmed": False}, "unconfirmed"),
        ({"size": 710.0, "eaten": 260.0, "pulled": 30.0}, "erosion 29 % < 30 %"),
        ({"eaten": 150.0, "pulled": 250.0}, "mostly pulled: a spoof"),
        ({"eaten": 0.0, "pulled": 0.0, "size": 600.0}, "nothing eaten"),
    ],
)
@pytest.mark.parametrize("up", [True, False])
def test_no_breakout_from_a_wall_that_does_not_qualify(change: dict, why: str, up: bool) -> None:
    if up:
        found = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask(**change)])
    else:
        found = find(Trend.DOWN, last=99.95, prev=99.96, densities=[eaten_bid(**change)])
    assert found == [], why


def test_the_spoof_share_from_config_blocks_a_breakout_that_is_only_just_mostly_eaten() -> None:
    # Eaten 220, pulled 180: mostly eaten, but 45 % of the loss was pulled.
    wall = eaten_ask(eaten=220.0, pulled=180.0)
    assert find(Trend.UP, last=100.05, prev=100.04, densities=[wall])
    strict = SignalRules(spoof_pulled_pct=40.0)
    tape = calm_tape()
    assert find_signals("BTCUSDT", NOW, Trend.UP, 100.05, 100.04, [wall], tape, TICK, strict) == []


def test_flat_trend_an_invalid_book_or_no_tick_size_gives_nothing() -> None:
    wall = eaten_ask()
    assert find(Trend.UP, last=100.05, prev=100.04, densities=[wall])
    assert find(Trend.FLAT, last=100.05, prev=100.04, densities=[wall]) == []
    assert find(Trend.UP, last=100.05, prev=100.04, densities=[wall], book_valid=False) == []
    no_tick = find_signals("BTCUSDT", NOW, Trend.UP, 100.05, 100.04, [wall], calm_tape(), 0.0, RULES)
    assert no_tick == []


def test_breakout_ignores_walls_on_the_other_side() -> None:
    # UP trend: bid walls neither break into a long nor bounce into a short.
    assert find(Trend.UP, last=99.95, prev=99.96, densities=[eaten_bid()]) == []
    assert find(Trend.DOWN, last=100.05, prev=100.04, densities=[eaten_ask()]) == []


def long_tape(price: float = 100.0) -> Tape:
    """`calm_tape` after a trade at `price` 4 h 1 min ago: a history that covers the 4 h range."""
    tape = Tape(TapeSection())
    tape.on_prints([trade(NOW - 241 * 60_000, price, 1.0, True)])
    for second in range(60):
        tape.on_prints([trade(NOW - 61_000 + second * 1_000, price, 1.0, second % 2 == 0)])
    return tape


def test_new_territory_against_the_prior_range_of_the_longest_window() -> None:
    tape = long_tape(100.0)  # the last minute traded at 100.00 only
    [above] = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask()], tape=tape)
    assert above.new_territory
    assert "new territory above the 4 h high 100" in above.reasons
    [below] = find(Trend.DOWN, last=99.95, prev=99.96, densities=[eaten_bid()], tape=tape)
    assert below.new_territory
    high_tape = long_tape(100.30)
    [inside] = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask()], tape=high_tape)
    assert not inside.new_territory
    assert "inside the 4 h range (high 100.3)" in inside.reasons
    empty = Tape(TapeSection())
    [unknown] = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask()], tape=empty)
    assert not unknown.new_territory
    assert "4 h range unknown: 0.0 min of history" in unknown.reasons
    # A minute of trades is not a 4 h range: above its high, but unknown, not new territory.
    [short] = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask()],
                   tape=calm_tape(100.0))
    assert not short.new_territory
    assert "4 h range unknown: 1.3 min of history" in short.reasons


# ---- bounce --------------------------------------------------------------------------------


def holding_bid(**kwargs: object) -> Density:
    """A bid cluster 99.70..99.80 (anchor 99.75), 5 % eroded, 3 % eaten."""
    values: dict = {"size": 950.0, "eaten": 30.0, "pulled": 20.0, **kwargs}
    return density(BookSide.BID, 99.75, 99.70, 99.80, **values)


def holding_ask(**kwargs: object) -> Density:
    """An ask cluster 100.20..100.30 (anchor 100.25), 5 % eroded, 3 % eaten."""
    values: dict = {"size": 950.0, "eaten": 30.0, "pulled": 20.0, **kwargs}
    return density(BookSide.ASK, 100.25, 100.20, 100.30, **values)


def test_bounce_long_off_a_bid_wall_in_a_down_trend() -> None:
    # (99.90 - 99.80) / 99.80 = 0.100 % from the near edge.
    [signal] = find(Trend.DOWN, last=99.90, prev=99.91, densities=[holding_bid()])
    assert signal.kind is SignalKind.BOUNCE and signal.side is Side.BUY
    assert signal.entry_price == 99.90
    # 0.3 % below the far edge 99.70: 99.4009, floored: 99.40 (not below the anchor 99.75).
    assert signal.stop_loss == 99.40
    assert signal.id == f"BTCUSDT-bounce-7-{NOW}"
    assert any("0.100% away" in reason for reason in signal.reasons)


def test_bounce_short_off_an_ask_wall_in_an_up_trend() -> None:
    [signal] = find(Trend.UP, last=100.10, prev=100.09, densities=[holding_ask()])
    assert signal.kind is SignalKind.BOUNCE and signal.side is Side.SELL
    # 0.3 % above the far edge 100.30: 100.6009, ceiled: 100.61.
    assert signal.stop_loss == 100.61


def test_bounce_stop_is_rounded_away_from_the_entry() -> None:
    # Short: 99.75 x 1.003 = 100.04925 must go up to 100.05, never down to 100.04.
    wall = density(BookSide.ASK, 99.70, 99.65, 99.75, size=950.0, eaten=10.0)
    [short] = find(Trend.UP, last=99.60, prev=99.61, densities=[wall])
    assert short.stop_loss == 100.05
    # Long: 100.00 x 0.997 = 99.7 exactly (99.69999999999999 in binary) stays 99.70.
    wall = density(BookSide.BID, 100.05, 100.00, 100.10, size=950.0, eaten=10.0)
    [long] = find(Trend.DOWN, last=100.20, prev=100.21, densities=[wall])
    assert long.stop_loss == 99.70


@pytest.mark.parametrize("up", [True, False])
def test_bounce_distance_limit_is_inclusive(up: bool) -> None:
    if up:
        wall, trend = density(BookSide.ASK, 100.05, 100.0, 100.1, size=950.0), Trend.UP
        at, beyond = 99.80, 99.79  # (100 - 99.80) / 100 = 0.2 % exactly; 99.79 is 0.21 %
    else:
        wall, trend = density(BookSide.BID, 99.95, 99.90, 100.0, size=950.0), Trend.DOWN
        at, beyond = 100.20, 100.21
    assert len(find(trend, last=at, prev=at, densities=[wall])) == 1
    assert find(trend, last=beyond, prev=beyond, densities=[wall]) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"frozen": True}, "frozen"),
        ({"confirmed": False}, "unconfirmed"),
        ({"size": 900.0}, "erosion 10 % is not < 10 %"),
        ({"eaten": 100.0}, "eaten 10 % of peak is not < 10 %"),
    ],
)
@pytest.mark.parametrize("up", [True, False])
def test_no_bounce_from_a_wall_that_is_not_stable(change: dict, why: str, up: bool) -> None:
    if up:
        found = find(Trend.UP, last=100.10, prev=100.09, densities=[holding_ask(**change)])
    else:
        found = find(Trend.DOWN, last=99.90, prev=99.91, densities=[holding_bid(**change)])
    assert found == [], why


def test_no_bounce_during_a_volume_spike() -> None:
    tape = Tape(TapeSection())
    for second in range(57):
        tape.on_prints([trade(NOW - 58_000 + second * 1_000, 99.9, 1.0, True)])  # ~100 USDT/s
    tape.on_prints([trade(NOW - 500, 99.9, 40.0, False)])  # ~4,000 USDT at once
    assert tape.spike(NOW)
    assert find(Trend.DOWN, last=99.90, prev=99.91, densities=[holding_bid()], tape=tape) == []
    assert find(Trend.UP, last=100.10, prev=100.09, densities=[holding_ask()], tape=tape) == []


def test_price_beyond_the_wall_is_no_bounce() -> None:
    # Below the bid wall's high edge: the wall is being traded into, not bounced off.
    assert find(Trend.DOWN, last=99.75, prev=99.76, densities=[holding_bid()]) == []


def test_several_walls_give_several_signals_with_distinct_ids() -> None:
    walls = [holding_bid(density_id=1), eaten_bid(density_id=2)]
    signals = find(Trend.DOWN, last=99.95, prev=99.96, densities=walls)
    # 99.95 crosses the eaten wall's edge and is 0.150 % above the holding one.
    assert [(s.kind, s.density_id) for s in signals] == [
        (SignalKind.BOUNCE, 1), (SignalKind.BREAKOUT, 2),
    ]
    signals = find(Trend.DOWN, last=99.90, prev=99.91, densities=walls)
    assert [(s.kind, s.density_id) for s in signals] == [(SignalKind.BOUNCE, 1)]


def test_rules_come_from_config_with_per_symbol_overrides() -> None:
    config = parse_config({
        "signals": {"ttl_s": 30, **NEAR_EDGE["signals"]},
        "symbols": {"BTCUSDT": {"signals": {"breakout_stop_pct": 0.2}, "tape": {"range_hours": [2]}}},
    })
    rules = SignalRules.from_config(config.strategy("BTCUSDT"))
    assert (rules.ttl_ms, rules.breakout_stop, rules.range_hours) == (30_000, 0.002, 2.0)
    signal = find_signals(
        "BTCUSDT", NOW, Trend.UP, 100.05, 100.04, [eaten_ask()], calm_tape(), TICK, rules,
    )[0]
    # 100.05 x 0.998 = 99.8499, floored: 99.84.
    assert signal.stop_loss == 99.84 and signal.ttl_ms == 30_000
    other = SignalRules.from_config(config.strategy("ETHUSDT"))
    assert other.breakout_stop == 0.001


# ---- validity ------------------------------------------------------------------------------


def test_a_signal_is_dropped_when_expired_its_density_gone_or_the_book_invalid() -> None:
    wall = eaten_ask()
    [signal] = find(Trend.UP, last=100.05, prev=100.04, densities=[wall])
    assert signal_still_valid(signal, [wall], True, NOW + 59_999) is None
    assert signal_still_valid(signal, [wall], True, NOW + 60_000) == "expired: 60.0 s old, ttl 60 s"
    other = eaten_ask(density_id=8)
    assert signal_still_valid(signal, [other], True, NOW + 1) == "density gone: ask 100.1"
    assert signal_still_valid(signal, [wall], False, NOW + 1) == "book invalid"


def test_replaying_the_same_state_gives_identical_signals() -> None:
    first = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask(), holding_ask(density_id=9)])
    again = find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask(), holding_ask(density_id=9)])
    assert first == again and len(first) == 2


@pytest.mark.parametrize("up", [True, False])
def test_breakout_erosion_limit_is_inclusive(up: bool) -> None:
    # 1 - 700/1000 is 0.30000000000000004 and 1 - 710/1000 is 0.29: exactly 30 % qualifies.
    change = {"size": 700.0, "eaten": 280.0, "pulled": 20.0}
    if up:
        assert find(Trend.UP, last=100.05, prev=100.04, densities=[eaten_ask(**change)])
    else:
        assert find(Trend.DOWN, last=99.95, prev=99.96, densities=[eaten_bid(**change)])


# ---- through: the far edge (the default) or little of the wall left -----------------------


DEFAULT_RULES = SignalRules.from_config(Config().default_strategy)


@pytest.mark.parametrize("up", [True, False])
def test_by_default_a_breakout_needs_a_trade_beyond_the_walls_far_edge(up: bool) -> None:
    # The ask cluster spans 100.05..100.15 with 60 % of its peak left: a trade at its near edge
    # or inside it is a touch, not a breakout; one beyond 100.15 went through (mirror: bids).
    wall, trend = (eaten_ask(), Trend.UP) if up else (eaten_bid(), Trend.DOWN)
    sign = 1 if up else -1
    base = 100.0

    def breakouts(last: float, prev: float) -> list:
        found = find_signals(
            "BTCUSDT", NOW, trend, last, prev, [wall], calm_tape(), TICK, DEFAULT_RULES,
        )
        return [s for s in found if s.kind is SignalKind.BREAKOUT]

    for last in (0.05, 0.10, 0.15):
        assert breakouts(base + sign * last, base + sign * 0.04) == [], last
    [signal] = breakouts(base + sign * 0.16, base + sign * 0.15)
    assert signal.side is (Side.BUY if up else Side.SELL)
    edge = "100.15" if up else "99.85"
    assert f"beyond its far edge {edge}" in signal.reasons[1]
    # A move that started beyond the far edge did not go through it now.
    assert breakouts(base + sign * 0.17, base + sign * 0.16) == []


def test_the_remaining_rule_needs_little_of_the_wall_left() -> None:
    rules = SignalRules.from_config(parse_config(
        {"signals": {"breakout_through": "remaining", "breakout_max_remaining_pct": 10.0}},
    ).default_strategy)
    # 60 % left: a trade through the near edge is no breakout; 10 % left (90 % eroded) is one.
    assert find_signals(
        "BTCUSDT", NOW, Trend.UP, 100.05, 100.04, [eaten_ask()], calm_tape(), TICK, rules,
    ) == []
    thin = eaten_ask(size=100.0, eaten=850.0, pulled=50.0)
    [signal] = find_signals(
        "BTCUSDT", NOW, Trend.UP, 100.05, 100.04, [thin], calm_tape(), TICK, rules,
    )
    assert signal.kind is SignalKind.BREAKOUT
    assert "10% of the wall left <= 10%" in signal.reasons[1]
    with pytest.raises(ConfigError, match="far_edge' or 'remaining"):
        parse_config({"signals": {"breakout_through": "touch"}})
