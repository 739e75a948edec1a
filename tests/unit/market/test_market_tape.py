"""Trade windows: velocity, taker aggression, spikes, local highs and lows, bounded memory."""

from __future__ import annotations

import random

import pytest

from densitytui.config import TapeSection
from densitytui.market.tape import Tape
from densitytui.model import Kline
from tests.prints import trade

START = 1_700_000_000_000  # a round minute


def feed(tape: Tape, prints: list[tuple[int, float, float, bool]]) -> None:
    """Give `tape` trades written as (ts, price, size, taker bought)."""
    tape.on_prints([trade(*p) for p in prints])


def test_velocity_over_the_short_and_long_windows() -> None:
    tape = Tape(TapeSection())
    feed(tape, [(START + 1_000, 100.0, 3.0, True)])  # 300 USDT, 14 s before `now`
    feed(tape, [(START + 13_000, 100.0, 6.0, False)])  # 600 USDT, 2 s before
    feed(tape, [(START + 14_500, 100.0, 3.0, True)])  # 300 USDT
    now = START + 15_000
    assert tape.velocity_short(now) == pytest.approx(900 / 3)
    assert tape.velocity_long(now) == pytest.approx(1200 / 15)
    # 16 s later only the last second of silence is left in the short window.
    assert tape.velocity_short(START + 31_000) == 0.0


def test_taker_volume_by_side_over_the_aggression_window() -> None:
    tape = Tape(TapeSection(aggression_window_s=10))
    feed(tape, [
        (START + 0, 50.0, 1.0, True),  # out of the window at `now`
        (START + 5_000, 50.0, 2.0, True),
        (START + 6_000, 50.0, 4.0, False),
        (START + 12_000, 50.0, 1.0, True),
    ])
    buy, sell = tape.taker_volume(START + 12_050)
    assert (buy, sell) == (pytest.approx(150.0), pytest.approx(200.0))


def test_volume_spike_against_the_baseline_average() -> None:
    tape = Tape(TapeSection(spike_baseline_s=60, spike_factor=3, velocity_short_s=3))
    for second in range(57):
        feed(tape, [(START + second * 1_000, 10.0, 1.0, True)])  # 10 USDT a second
    assert not tape.spike(START + 57_000)
    feed(tape, [(START + 58_000, 10.0, 20.0, False)])  # 200 USDT at once
    assert tape.spike(START + 58_500)


def test_spike_agrees_with_the_trades_counted_again_and_questions_change_nothing() -> None:
    """Against a plain count over every trade kept (whole-number notionals, so sums are
    exact): short-window volume above spike_factor x its share of the baseline volume, both
    windows ending with the 100 ms bucket of `now`. Asked after every message, and sometimes
    asked twice or after a silence, as the engine does."""
    rng = random.Random(7)
    section = TapeSection(spike_baseline_s=20, spike_factor=2.5, velocity_short_s=2)
    tape = Tape(section)
    # Fed the same trades, asked only now and then: its answers must be the same to the bit.
    seldom = Tape(section)
    short_buckets, base_buckets = 20, 200
    trades: list[tuple[int, float, float, bool]] = []
    now = START
    spikes = 0
    for _ in range(3_000):
        now += rng.choice((0, 7, 40, 100, 350, 2_000, 9_000))
        batch = [
            (now, float(rng.randint(90, 110)), float(rng.choice((1, 2, 5, 60))), rng.random() < 0.5)
            for _ in range(rng.randint(1, 3))
        ]
        feed(tape, batch)
        feed(seldom, batch)
        trades += batch
        # Time never goes backwards (Tape's contract): a later question moves `now` on.
        for asked in (now, now + rng.choice((0, 0, 150, 5_000))):
            now = asked
            bucket = asked // 100
            short = sum(p * s for t, p, s, _ in trades if bucket - short_buckets < t // 100 <= bucket)
            base = sum(p * s for t, p, s, _ in trades if bucket - base_buckets < t // 100 <= bucket)
            average = base * short_buckets / base_buckets
            expected = short > 2.5 * average and average > 0.0
            assert tape.spike(asked) is expected, (asked, short, base)
            velocity = tape.velocity_short(asked)
            if rng.random() < 0.1:
                assert seldom.spike(asked) is expected
                assert seldom.velocity_short(asked) == velocity
                assert seldom.velocity_long(asked) == tape.velocity_long(asked)
            spikes += expected
            trades = [t for t in trades if t[0] // 100 > bucket - base_buckets]
    assert 0 < spikes < 6_000  # both answers were met


def test_a_tape_asked_often_answers_to_the_bit_as_one_asked_seldom() -> None:
    """Notionals with rounding (prices of many decimals): window sums depend on the order of
    their additions and subtractions, which questions must not change."""
    rng = random.Random(8)
    section = TapeSection(spike_baseline_s=20, spike_factor=1.5, velocity_short_s=2)
    often, seldom = Tape(section), Tape(section)
    now = START
    compared = 0
    for step in range(4_000):
        now += rng.choice((3, 40, 100, 250, 1_500, 4_000))
        batch = [(now, rng.uniform(90, 110), rng.uniform(0.001, 3.0), rng.random() < 0.5)]
        feed(often, batch)
        feed(seldom, batch)
        figures = (often.spike(now), often.velocity_short(now), often.velocity_long(now),
                   often.taker_volume(now))
        if step % 17 == 0:
            compared += 1
            assert figures == (seldom.spike(now), seldom.velocity_short(now),
                               seldom.velocity_long(now), seldom.taker_volume(now))
    assert compared > 200


def test_local_range_over_hours_and_prior_range_without_the_current_minute() -> None:
    tape = Tape(TapeSection(range_hours=(1.0, 4.0)))
    minute = 60_000
    feed(tape, [(START, 100.0, 1.0, True)])
    feed(tape, [(START + 100 * minute, 110.0, 1.0, True)])  # 50 min before the end
    feed(tape, [(START + 150 * minute, 105.0, 1.0, True)])
    feed(tape, [(START + 150 * minute + 1_000, 103.0, 1.0, False)])
    now = START + 150 * minute + 2_000
    assert tape.local_range(1.0, now) == (103.0, 110.0)
    assert tape.local_range(4.0, now) == (100.0, 110.0)
    assert tape.prior_range(1.0, now) == (110.0, 110.0)
    assert tape.last_price == 103.0


def test_klines_seed_the_local_range() -> None:
    tape = Tape(TapeSection())
    tape.seed_klines([
        Kline(START - 120 * 60_000, 90.0, 95.0, 85.0, 92.0, 1.0),
        Kline(START - 30 * 60_000, 92.0, 99.0, 91.0, 98.0, 1.0),
    ])
    feed(tape, [(START + 1_000, 97.0, 1.0, True)])
    assert tape.local_range(1.0, START + 2_000) == (91.0, 99.0)
    assert tape.local_range(4.0, START + 2_000) == (85.0, 99.0)


def test_memory_stays_bounded_over_a_long_day() -> None:
    tape = Tape(TapeSection(range_hours=(1.0, 4.0)))
    for second in range(0, 10 * 3600, 2):  # ten hours, a trade every two seconds
        feed(tape, [(START + second * 1_000, 100.0 + second % 7, 0.1, second % 4 == 0)])
    assert len(tape._minutes) <= 4 * 60 + 1
    assert len(tape._baseline.buckets) <= 60 * 10
    assert len(tape._short.buckets) <= 30
    assert tape.trades == 18_000
