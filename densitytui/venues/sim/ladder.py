"""One side of the simulated book in integer ticks and qty steps, and what was last published of it.

The simulator keeps more levels than it publishes. `diff` sends what changed in the best `depth`
levels since the last message: levels whose size changed, size 0 for levels that left the window
(cancelled, traded away, or pushed out by better levels) and the size of levels that entered it,
exactly as Bybit's `orderbook.50` does. Its work is proportional to the levels touched since the
last message, not to the window: each level remembers its size at the last publication the first
time it changes, and the window is tracked by its deepest price (its edge).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

Level = tuple[int, int]

BOOK_DEPTH = 50
"""Levels per side in the published window (`orderbook.50`)."""


class Ladder:
    """Ticks ascending (the best bid is the last, the best ask the first) and sizes by tick."""

    __slots__ = ("before", "edge", "is_bid", "lots", "ticks")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.ticks: list[int] = []
        self.lots: dict[int, int] = {}
        # Size at the last publication of every level changed since (0: it was not quoted).
        self.before: dict[int, int] = {}
        # The deepest published price; None before the first snapshot.
        self.edge: int | None = None

    def __len__(self) -> int:
        return len(self.ticks)

    def best(self) -> int:
        return self.ticks[-1] if self.is_bid else self.ticks[0]

    def worst(self) -> int:
        return self.ticks[0] if self.is_bid else self.ticks[-1]

    def tick_at(self, depth: int) -> int:
        """The tick `depth` levels behind the touch (0 is the touch)."""
        return self.ticks[-1 - depth] if self.is_bid else self.ticks[depth]

    def depth_of(self, tick: int) -> int:
        """How many levels are better than `tick` (its depth if it is quoted)."""
        index = bisect_left(self.ticks, tick)
        if self.is_bid:
            return len(self.ticks) - index - (1 if tick in self.lots else 0)
        return index

    def set(self, tick: int, lots: int) -> None:
        """Quote `lots` at `tick`; 0 removes the level."""
        sizes = self.lots
        current = sizes.get(tick)
        if lots <= 0:
            if current is None:
                return
            del sizes[tick]
            del self.ticks[bisect_left(self.ticks, tick)]
        elif current is None:
            sizes[tick] = lots
            insort(self.ticks, tick)
        elif current != lots:
            sizes[tick] = lots
        else:
            return
        if self.edge is not None and tick not in self.before:
            self.before[tick] = current or 0

    def window(self, depth: int) -> list[Level]:
        """The best `depth` levels, best first."""
        ticks = self.ticks
        lots = self.lots
        chosen = ticks[:-depth - 1:-1] if self.is_bid else ticks[:depth]
        return [(tick, lots[tick]) for tick in chosen]

    def _edge(self, depth: int) -> int:
        ticks = self.ticks
        if self.is_bid:
            return ticks[-depth] if len(ticks) >= depth else ticks[0]
        return ticks[depth - 1] if len(ticks) >= depth else ticks[-1]

    def snapshot(self, depth: int) -> list[Level]:
        """The window, which from now on is what subscribers hold."""
        self.before.clear()
        self.edge = self._edge(depth)
        return self.window(depth)

    def unpublish(self) -> None:
        """Nobody holds the window any more: stop tracking changes until the next snapshot."""
        self.before.clear()
        self.edge = None

    def diff(self, depth: int) -> list[Level]:
        """What changed in the window since the last snapshot or diff, best first."""
        before = self.before
        old_edge = self.edge
        if not before or old_edge is None:
            return []
        ticks = self.ticks
        lots = self.lots
        is_bid = self.is_bid
        edge = self._edge(depth)
        out: dict[int, int] = {}
        for tick, was in before.items():
            now = lots.get(tick, 0)
            inside = now > 0 and (tick >= edge if is_bid else tick <= edge)
            was_inside = was > 0 and (tick >= old_edge if is_bid else tick <= old_edge)
            if inside:
                if not was_inside or now != was:
                    out[tick] = now
            elif was_inside:
                out[tick] = 0
        if edge != old_edge:
            if is_bid:
                low, high = sorted((edge, old_edge))
                moved = ticks[bisect_left(ticks, low):bisect_left(ticks, high)]
                entered = edge < old_edge
            else:
                low, high = sorted((edge, old_edge))
                moved = ticks[bisect_right(ticks, low):bisect_right(ticks, high)]
                entered = edge > old_edge
            for tick in moved:
                if tick not in before:
                    out[tick] = lots[tick] if entered else 0
        before.clear()
        self.edge = edge
        return sorted(out.items(), reverse=is_bid)
