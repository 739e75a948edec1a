"""Remembering what the engine has seen, within a bound, so a run of days does not creep.

The engine remembers every signal it handled (so none is entered twice) and every density
that produced one (so a density signals once). Both matter only while the signal or the density
can still come back: a signal for its time-to-live, a density while it lives. `RecentSet`
keeps the most recent `limit` members and forgets the oldest beyond them; the limits are far
beyond what the TTL and a density's life can hold, so forgetting never changes a decision.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, MutableSet
from typing import TypeVar

T = TypeVar("T", bound=Hashable)

HANDLED_SIGNALS_KEPT = 10_000
"""Signal ids: ten thousand is hours of signals at any rate a market gives, TTLs are a minute."""
SIGNALED_DENSITIES_KEPT = 2_000
"""(kind, density id) pairs per symbol: far more than the densities one book holds at once."""
LATENCY_SAMPLES_KEPT = 20_000
"""Order latencies kept per trigger, for the benchmarks' percentiles."""


class RecentSet(MutableSet[T]):
    """A set of at most `limit` members; adding beyond it forgets the oldest added."""

    __slots__ = ("_items", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: dict[T, None] = {}

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T) -> None:
        items = self._items
        if item in items:
            return
        items[item] = None
        if len(items) > self.limit:
            del items[next(iter(items))]

    def discard(self, item: T) -> None:
        self._items.pop(item, None)


def keep_last(samples: list[T], limit: int) -> None:
    """Trim `samples` to its last `limit` entries once it has grown a tenth past them (so the
    trimming costs nothing per sample on average)."""
    if len(samples) > limit + limit // 10:
        del samples[: len(samples) - limit]
