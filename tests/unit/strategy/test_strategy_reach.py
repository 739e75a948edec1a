"""`Reach` and `known`: the shortcuts an engine may take around `find_signals` change nothing.

Seeded random walls and price moves around them (both sides, both trends, every state a wall
can be in): wherever `Reach` says no density of the trend's side is within reach, `find_signals`
finds nothing and folds no trade into the tape; and `known` leaves out exactly the signals
whose (kind, density id) it holds, and the questions it leaves out change no tape window.
"""

from __future__ import annotations

import random

from densitytui.config import Config, TapeSection
from densitytui.market.tape import Tape
from densitytui.model import BookSide, Density, SignalKind, Trend
from densitytui.strategy.signals import Reach, SignalRules, find_signals
from tests.prints import trade

NOW = 1_700_000_000_000 + 4 * 3_600_000
TICK = 0.01
RULES = SignalRules.from_config(Config().default_strategy)
CASES = 3_000


def _wall(rng: random.Random, density_id: int) -> Density:
    side = rng.choice((BookSide.BID, BookSide.ASK))
    low = round(rng.uniform(99.0, 101.0), 2)
    high = round(low + rng.choice((0.0, 0.02, 0.1)), 2)
    peak = 1_000.0
    eaten = rng.choice((0.0, 50.0, 350.0, 600.0))
    pulled = rng.choice((0.0, 50.0, 300.0))
    size = max(peak - eaten - pulled, 1.0)
    edges = rng.random() < 0.9
    return Density(
        "BTCUSDT", side, round((low + high) / 2, 2), size, peak, NOW - 60_000, NOW,
        confirmed_at=NOW - 50_000 if rng.random() < 0.8 else None, eaten=eaten, pulled=pulled,
        levels=3, id=density_id, price_low=low if edges else 0.0,
        price_high=high if edges else 0.0, frozen=rng.random() < 0.1,
    )


def _tape(spike: bool) -> Tape:
    """A minute of trades, queued (fewer than a fold batch): a query folds them. The last
    seconds trade 50 times more with `spike`."""
    tape = Tape(TapeSection())
    for second in range(60):
        size = 50.0 if spike and second > 56 else 1.0
        tape.on_prints([trade(NOW - 60_000 + second * 1_000, 100.0, size, second % 2 == 0)])
    return tape


def _case(rng: random.Random) -> tuple[Trend, float, float, list[Density], bool]:
    walls = [_wall(rng, n) for n in range(1, rng.randint(1, 6) + 1)]
    last = round(rng.uniform(98.8, 101.2), 2)
    prev = round(last + rng.choice((0.0, 0.01, -0.01, 0.3, -0.3, 1.0, -1.0)), 2)
    trend = rng.choice((Trend.UP, Trend.DOWN, Trend.FLAT))
    return trend, last, prev, walls, rng.random() < 0.3


def test_out_of_reach_finds_nothing_and_asks_the_tape_nothing() -> None:
    rng = random.Random(11)
    skipped = looked = 0
    for _ in range(CASES):
        trend, last, prev, walls, spike = _case(rng)
        reach = Reach(walls, RULES)
        ask, bid = reach.near(last, prev)
        within = (ask and trend is Trend.UP) or (bid and trend is Trend.DOWN)
        tape = _tape(spike)
        found = find_signals(
            "BTCUSDT", NOW, trend, last, prev, reach.of(trend) if within else walls, tape, TICK,
            RULES,
        )
        if within:
            looked += 1
            everything = find_signals(
                "BTCUSDT", NOW, trend, last, prev, walls, _tape(spike), TICK, RULES,
            )
            assert [s.id for s in found] == [s.id for s in everything]
        else:
            skipped += 1
            assert found == []
            # Nothing asked the tape a figure: its trades still wait unfolded.
            assert tape._queue
    assert skipped > CASES // 4 and looked > CASES // 10


def test_known_leaves_out_exactly_the_known_pairs() -> None:
    rng = random.Random(12)
    left_out = 0
    for _ in range(CASES):
        trend, last, prev, walls, spike = _case(rng)
        everything = find_signals(
            "BTCUSDT", NOW, trend, last, prev, walls, _tape(spike), TICK, RULES,
        )
        known = {
            (kind, wall.id) for wall in walls for kind in SignalKind if rng.random() < 0.5
        }
        tape = _tape(spike)
        asked = find_signals(
            "BTCUSDT", NOW, trend, last, prev, walls, tape, TICK, RULES, known=known,
        )
        expected = [s for s in everything if (s.kind, s.density_id) not in known]
        assert [s.id for s in asked] == [s.id for s in expected]
        left_out += len(everything) - len(expected)
        # Whatever was asked, the tape's windows are those of a tape only folded: a question
        # left out cannot change a later answer.
        reference = _tape(spike)
        tape._fold()
        reference._fold()
        for window in ("_short", "_baseline"):
            ours, theirs = getattr(tape, window), getattr(reference, window)
            assert (list(ours.buckets), ours.buy, ours.sell) == (
                list(theirs.buckets), theirs.buy, theirs.sell,
            )
    assert left_out > 50
