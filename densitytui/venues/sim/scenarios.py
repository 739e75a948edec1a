"""Scripted walls mixed into the simulated flow, one at a time per symbol.

Each scenario puts a wall 6-16 levels from the touch, sized to pass the density criteria of
DESIGN §2 with margin on the top-50 window (notional ≥ 120k USDT, 10-15 times its 5 nearest levels,
a quarter or more of the rest of its side), holds the price away while the wall ages 12-18 s
(beyond the 10 s confirmation), then steers the price to it and plays one of three fates:

- EATEN: market orders trade into the wall at its price until it is gone and price breaks through;
- HELD: price tests the wall (trades at its price take 2-5 % of it) and bounces away until the wall
  leaves the 50-level window, where it is then cancelled unseen;
- SPOOF: the wall is cancelled 2-4 levels before price reaches it, without a trade at its price.

Gainers get most of their walls on the ask side (resistance to break, or to bounce off), losers on
the bid side, flat symbols on either. Every symbol gets each fate once in every three scenarios.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import TYPE_CHECKING

from densitytui.venues.sim.ladder import BOOK_DEPTH

if TYPE_CHECKING:
    from densitytui.venues.sim.symbol import SymbolSim

WALL_MIN_USDT = 120_000.0
WALL_DEPTH = (6, 16)
WAIT_S = (12.0, 18.0)
APPROACH_S = (3.0, 8.0)
APPROACH_GRACE_S = 15.0
TEST_S = (2.0, 5.0)
BOUNCE_S = (6.0, 10.0)
BOUNCE_DEADLINE_S = 60.0
AFTER_S = (2.0, 4.0)
COOLDOWN_S = (3.0, 8.0)


class Fate(StrEnum):
    EATEN = "eaten"
    HELD = "held"
    SPOOF = "spoof"


class Phase(StrEnum):
    WAIT = "wait"
    APPROACH = "approach"
    EAT = "eat"
    TEST = "test"
    BOUNCE = "bounce"
    AFTER = "after"


class Scenario:
    """One wall from its appearance to its fate; `step` returns False once it is over."""

    def __init__(self, sim: SymbolSim, fate: Fate, is_bid: bool, now: int) -> None:
        rng = sim.rng
        self.sim = sim
        self.fate = fate
        self.is_bid = is_bid
        self.toward = -1 if is_bid else 1
        depth = rng.randint(*WALL_DEPTH)
        self.tick = sim.place_wall(is_bid, depth, self._extra_lots(depth))
        self.peak = sim.wall_peak
        self.pull_at = rng.randint(2, 4)
        self.hit = 0
        self.cap = 0
        self.aborted = False
        self.phase = Phase.WAIT
        self.until = now + int(rng.uniform(*WAIT_S) * 1000)
        sim.steer(sim.anchor)

    def _extra_lots(self, depth: int) -> int:
        sim = self.sim
        rng = sim.rng
        ladder = sim.bids if self.is_bid else sim.asks
        window = [lots for _, lots in ladder.window(BOOK_DEPTH)]
        here = window[depth]
        others = sum(window) - here
        nearest = sorted(range(len(window)), key=lambda i: (abs(i - depth), i))[1:6]
        neighbours = sum(window[i] for i in nearest) / len(nearest)
        wanted = max(
            WALL_MIN_USDT * rng.uniform(1.0, 1.8) / sim.lot_usdt,
            neighbours * rng.uniform(10.0, 15.0),
            others * rng.uniform(0.25, 0.4),
        )
        return max(1, int(wanted) - here)

    def _touch_anchor(self) -> float:
        """An anchor that makes the wall the touch without trading into it."""
        return self.tick - 0.5 if self.toward > 0 else self.tick + 0.5

    def step(self, now: int) -> bool:
        phase = self.phase
        if phase is Phase.WAIT:
            if now >= self.until:
                self._approach(now)
        elif phase is Phase.APPROACH:
            self._on_approach(now)
        elif phase is Phase.EAT:
            self._on_eat(now)
        elif phase is Phase.TEST:
            self._on_test(now)
        elif phase is Phase.BOUNCE:
            self._on_bounce(now)
        elif now >= self.until:
            self.sim.steer(None)
            return False
        return True

    def _approach(self, now: int) -> None:
        sim = self.sim
        seconds = sim.rng.uniform(*APPROACH_S)
        target = self._touch_anchor()
        sim.steer(target, abs(target - sim.anchor) / seconds)
        sim.noise_scale = 0.4
        self.phase = Phase.APPROACH
        self.until = now + int((seconds + APPROACH_GRACE_S) * 1000)

    def _on_approach(self, now: int) -> None:
        sim = self.sim
        depth = sim.wall_depth()
        if self.fate is Fate.SPOOF:
            if 0 <= depth <= self.pull_at:
                sim.cancel_wall()
                self._after(now, sim.rng.uniform(3.0, 6.0))
                return
        elif depth == 0:
            sim.noise = 0.0
            sim.noise_scale = 0.15
            if self.fate is Fate.EATEN:
                self.phase = Phase.EAT
            else:
                self.phase = Phase.TEST
                self.until = now + int(sim.rng.uniform(*TEST_S) * 1000)
                self.cap = max(1, int(self.peak * sim.rng.uniform(0.02, 0.05)))
            return
        if now > self.until or depth < 0:
            self.aborted = True
            sim.cancel_wall()
            self._after(now, 2.0)

    def _on_eat(self, now: int) -> None:
        sim = self.sim
        rng = sim.rng
        if sim.wall_depth() != 0 or rng.random() >= 0.5:
            return
        remaining = sim.wall_lots()
        lots = int(self.peak * rng.uniform(0.1, 0.3))
        if lots >= remaining:
            lots = remaining + int(sim.trade_unit * rng.uniform(2.0, 20.0))
        sim.hit_wall(max(1, lots), now)
        if sim.wall_lots() == 0:
            sim.forget_wall()
            sim.anchor = self.tick + 0.5 * self.toward
            sim.noise = 0.0
            self._after(now, rng.uniform(4.0, 10.0))

    def _on_test(self, now: int) -> None:
        sim = self.sim
        rng = sim.rng
        if now < self.until:
            if sim.wall_depth() == 0 and self.hit < self.cap and rng.random() < 0.12:
                lots = min(self.cap - self.hit, max(1, int(self.peak * rng.uniform(0.004, 0.012))))
                self.hit += sim.hit_wall(lots, now)
            return
        distance = (BOOK_DEPTH + 30) * sim.gap * 2.0
        sim.steer(self.tick - self.toward * distance, BOOK_DEPTH * sim.gap / rng.uniform(*BOUNCE_S))
        sim.noise_scale = 1.0
        self.phase = Phase.BOUNCE
        self.until = now + int(BOUNCE_DEADLINE_S * 1000)

    def _on_bounce(self, now: int) -> None:
        sim = self.sim
        depth = sim.wall_depth()
        if depth >= BOOK_DEPTH or depth < 0:
            sim.cancel_wall()
            self._after(now, 0.0)
        elif now > self.until:
            self.aborted = True
            sim.cancel_wall()
            self._after(now, 0.0)

    def _after(self, now: int, beyond_gaps: float) -> None:
        """Carry price `beyond_gaps` level gaps past the wall's price, then end."""
        sim = self.sim
        rng = sim.rng
        sim.noise_scale = 1.0
        if beyond_gaps > 0:
            distance = beyond_gaps * sim.gap
            sim.steer(self.tick + self.toward * distance, distance / rng.uniform(1.5, 3.0))
        else:
            sim.steer(None)
        self.phase = Phase.AFTER
        self.until = now + int(rng.uniform(*AFTER_S) * 1000)


class Planner:
    """Starts the next scenario of one symbol after a pause; counts fates played and aborted."""

    def __init__(self, sim: SymbolSim, start_ms: int) -> None:
        self.sim = sim
        self.scenario: Scenario | None = None
        self.bag: list[Fate] = []
        self.next_start = start_ms + int(sim.rng.uniform(1.0, 6.0) * 1000)
        self.played: Counter[str] = Counter()

    def _next_fate(self) -> Fate:
        if not self.bag:
            self.bag = list(Fate)
            self.sim.rng.shuffle(self.bag)
        return self.bag.pop()

    def step(self, now: int) -> None:
        scenario = self.scenario
        if scenario is not None:
            if not scenario.step(now):
                self.played[scenario.fate] += 1
                if scenario.aborted:
                    self.played["aborted"] += 1
                self.scenario = None
                self.next_start = now + int(self.sim.rng.uniform(*COOLDOWN_S) * 1000)
        elif now >= self.next_start:
            rng = self.sim.rng
            fate = self._next_fate()
            trend = self.sim.spec.trend_sign
            lean = 0.8 if fate is not Fate.SPOOF else 0.65
            ask_share = lean if trend > 0 else 1.0 - lean if trend < 0 else 0.5
            self.scenario = Scenario(self.sim, fate, rng.random() >= ask_share, now)
