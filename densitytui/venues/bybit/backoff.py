"""Reconnect delays: exponential from a minimum to a maximum, with full jitter from a seeded RNG.

Jitter spreads the reconnects of many clients (and of our own streams) after an outage; the RNG
is injected so a test knows every delay.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, minimum_s: float, maximum_s: float, rng: random.Random) -> None:
        self.minimum_s = minimum_s
        self.maximum_s = maximum_s
        self._rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt: between half and all of min x 2^failures, capped."""
        ceiling = min(self.maximum_s, self.minimum_s * 2**self.failures)
        self.failures += 1
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        """A connection worked: the next failure starts from the minimum again."""
        self.failures = 0
