"""L2 order book of one symbol, maintained from Bybit v5 `orderbook.*` messages.

Each side is a dict price → size plus a list of its prices kept sorted with `bisect`, so the
best price and the top N are a slice, never a sort of the whole book. Windows are a few hundred
levels deep, where inserting into a Python list beats any tree. The exchange's strings are kept
beside the floats because `scan --final-book` must print them exactly as received.

Sequence rules (../shared/bybit/PROTOCOL.md): a snapshot replaces the book; `u == 1` is a service
restart and is treated as a snapshot; a delta applies only when `u == last + 1`; `u <= last` is
stale and dropped; `u > last + 1` is a gap that invalidates the book until the next snapshot.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from enum import IntEnum

from densitytui.model import BookSide

PriceSize = list[str] | tuple[str, str]


class ApplyResult(IntEnum):
    APPLIED = 0
    SNAPSHOT = 1
    STALE = 2
    GAP = 3
    # A delta arrived while the book waits for a snapshot after a gap.
    IGNORED = 4


class BookLadder:
    """One side of the book: prices ascending, sizes by price, and the running visible volume."""

    __slots__ = ("is_bid", "prices", "raw", "sizes", "total")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.prices: list[float] = []
        self.sizes: dict[float, float] = {}
        self.raw: dict[float, tuple[str, str]] = {}
        self.total = 0.0

    def __len__(self) -> int:
        return len(self.prices)

    def best(self) -> float | None:
        prices = self.prices
        if not prices:
            return None
        return prices[-1] if self.is_bid else prices[0]

    def top(self, n: int) -> list[tuple[float, float]]:
        """The n best levels, best first."""
        prices = self.prices
        sizes = self.sizes
        chosen = prices[:-n - 1:-1] if self.is_bid else prices[:n]
        return [(p, sizes[p]) for p in chosen]

    def raw_top(self, n: int) -> list[list[str]]:
        prices = self.prices
        raw = self.raw
        chosen = prices[:-n - 1:-1] if self.is_bid else prices[:n]
        return [list(raw[p]) for p in chosen]

    def index(self, price: float) -> int:
        """Position of `price` in the ascending price list (or where it would go)."""
        return bisect_left(self.prices, price)

    def volume_between(self, low: float, high: float) -> float:
        """Total size resting at prices in [low, high]."""
        prices = self.prices
        sizes = self.sizes
        i = bisect_left(prices, low)
        total = 0.0
        n = len(prices)
        while i < n and prices[i] <= high:
            total += sizes[prices[i]]
            i += 1
        return total

    def clear(self) -> None:
        self.prices.clear()
        self.sizes.clear()
        self.raw.clear()
        self.total = 0.0


class OrderBook:
    """Book of one symbol; `changes` lists the levels the last message touched.

    Each change is `(side, price, old_size, new_size)`; the density tracker consumes it so its
    work stays proportional to what a message changed.
    """

    __slots__ = (
        "absent_deletes",
        "asks",
        "bids",
        "changes",
        "gaps",
        "last_u",
        "seq",
        "stale",
        "symbol",
        "ts",
        "valid",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = BookLadder(is_bid=True)
        self.asks = BookLadder(is_bid=False)
        self.last_u = 0
        self.seq = 0
        self.ts = 0
        self.valid = False
        self.changes: list[tuple[BookSide, float, float, float]] = []
        self.absent_deletes = 0
        self.stale = 0
        self.gaps = 0

    def ladder(self, side: BookSide) -> BookLadder:
        return self.bids if side is BookSide.BID else self.asks

    def apply(
        self,
        is_snapshot: bool,
        bids: list[PriceSize],
        asks: list[PriceSize],
        u: int,
        seq: int,
        ts: int,
    ) -> ApplyResult:
        """Apply one decoded `orderbook.*` message; see the module docstring for the rules."""
        self.changes.clear()
        if is_snapshot or u == 1:
            self._load_snapshot(bids, asks)
            result = ApplyResult.SNAPSHOT
        elif not self.valid:
            return ApplyResult.IGNORED
        elif u <= self.last_u:
            self.stale += 1
            return ApplyResult.STALE
        elif u != self.last_u + 1:
            self.valid = False
            self.gaps += 1
            return ApplyResult.GAP
        else:
            self._apply_levels(self.bids, BookSide.BID, bids)
            self._apply_levels(self.asks, BookSide.ASK, asks)
            result = ApplyResult.APPLIED
        self.last_u = u
        self.seq = seq
        self.ts = ts
        return result

    def _load_snapshot(self, bids: list[PriceSize], asks: list[PriceSize]) -> None:
        changes = self.changes
        for ladder, side, levels in ((self.bids, BookSide.BID, bids), (self.asks, BookSide.ASK, asks)):
            old = ladder.sizes
            new: dict[float, float] = {}
            raw: dict[float, tuple[str, str]] = {}
            for p_str, s_str in levels:
                size = float(s_str)
                if size > 0.0:
                    price = float(p_str)
                    new[price] = size
                    raw[price] = (p_str, s_str)
            for price, size in old.items():
                if price not in new:
                    changes.append((side, price, size, 0.0))
            for price, size in new.items():
                before = old.get(price, 0.0)
                if before != size:
                    changes.append((side, price, before, size))
            ladder.sizes = new
            ladder.raw = raw
            ladder.prices = sorted(new)
            ladder.total = sum(new.values())
        self.valid = True

    def _apply_levels(self, ladder: BookLadder, side: BookSide, levels: list[PriceSize]) -> None:
        sizes = ladder.sizes
        raw = ladder.raw
        prices = ladder.prices
        changes = self.changes
        total = ladder.total
        for p_str, s_str in levels:
            price = float(p_str)
            size = float(s_str)
            old = sizes.get(price)
            if size == 0.0:
                if old is None:
                    self.absent_deletes += 1
                    continue
                del sizes[price]
                del raw[price]
                del prices[bisect_left(prices, price)]
                total -= old
                changes.append((side, price, old, 0.0))
            elif old is None:
                sizes[price] = size
                raw[price] = (p_str, s_str)
                insort(prices, price)
                total += size
                changes.append((side, price, 0.0, size))
            else:
                sizes[price] = size
                raw[price] = (p_str, s_str)
                total += size - old
                changes.append((side, price, old, size))
        ladder.total = total

    def invalidate(self) -> None:
        """Mark the book unusable until the next snapshot (e.g. on a lost connection)."""
        self.valid = False

    def best_bid(self) -> float | None:
        return self.bids.best()

    def best_ask(self) -> float | None:
        return self.asks.best()

    def mid(self) -> float | None:
        bid = self.bids.best()
        ask = self.asks.best()
        if bid is None or ask is None:
            return None
        return (bid + ask) * 0.5

    def crossed(self) -> bool:
        bid = self.bids.best()
        ask = self.asks.best()
        return bid is not None and ask is not None and bid >= ask

    def size_at(self, side: BookSide, price: float) -> float:
        return self.ladder(side).sizes.get(price, 0.0)

    def volume_near_mid(self, side: BookSide, pct: float) -> float:
        """Size resting on `side` within `pct` % of the mid price (book pressure for the trend)."""
        mid = self.mid()
        if mid is None:
            return 0.0
        span = mid * pct / 100.0
        return self.ladder(side).volume_between(mid - span, mid + span)

    def raw_top(self, n: int) -> dict[str, list[list[str]]]:
        """The n best levels a side as the exchange's strings, best first."""
        return {"bids": self.bids.raw_top(n), "asks": self.asks.raw_top(n)}
