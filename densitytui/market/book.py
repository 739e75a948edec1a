"""L2 order book of one symbol, maintained from Bybit v5 `orderbook.*` messages.

Each side keeps its prices ascending in a list maintained with `bisect`, so the best price and
the top N are a slice, never a sort of the whole book; windows are a few hundred levels deep,
where inserting into a Python list beats any tree. Levels are stored by the exchange's price
string, with their size and the `[price, size]` list exactly as received (the very object the
decoder made, kept for `scan --final-book`). String keys because float prices on a tick grid
share the low bits of their hashes, which makes every dict operation on them probe several
slots: keyed by string the book applies a message a sixth faster. `sizes` and `raw`, keyed by
float price, are views built when read after a change. A price spelled two ways (`"1.50"`,
`"1.5"`) is still one level: the float decides.

Sequence rules (../shared/bybit/PROTOCOL.md): a snapshot replaces the book; `u == 1` is a service
restart and is treated as a snapshot; a delta applies only when `u == last + 1`; `u <= last` is
stale and dropped; `u > last + 1` is a gap that invalidates the book until the next snapshot.
A delete of a price the book does not hold is tolerated and counted in `absent_deletes`.
Levels are parsed before anything changes (`decode.parse_levels`), so a message with an
unreadable level raises `ValueError` and leaves the book as it was.

`changes` lists the levels the last message touched as `(side, price, old_size, new_size)`.
Setting `watch_notional` limits it to levels whose old or new notional reaches that many USDT:
the density tracker only cares about large levels, and recording every small one would cost
more than applying it.
"""

from __future__ import annotations

from bisect import bisect_left
from enum import IntEnum
from typing import Any

from densitytui.market.decode import BookMessage, PriceSize, parse_levels
from densitytui.model import BookSide

Change = tuple[BookSide, float, float, float]
Entry = list[Any]
"""`[size, [price, size] as received]`: a list, so an update rewrites it in place."""

_BID = BookSide.BID
_ASK = BookSide.ASK


class ApplyResult(IntEnum):
    APPLIED = 0
    SNAPSHOT = 1
    STALE = 2
    GAP = 3
    # A delta arrived while the book waits for a snapshot after a gap.
    IGNORED = 4


class BookLadder:
    """One side of the book: prices ascending, sizes by price, and the running visible volume."""

    __slots__ = (
        "_entries",
        "_keys",
        "_raw",
        "_raw_version",
        "_sizes",
        "_sizes_version",
        "_version",
        "is_bid",
        "prices",
        "total",
    )

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.prices: list[float] = []
        self.total = 0.0
        # The exchange's spelling of prices[i], and each level by that spelling.
        self._keys: list[str] = []
        self._entries: dict[str, Entry] = {}
        self._version = 0
        self._sizes: dict[float, float] = {}
        self._sizes_version = -1
        self._raw: dict[float, PriceSize] = {}
        self._raw_version = -1

    def __len__(self) -> int:
        return len(self.prices)

    @property
    def sizes(self) -> dict[float, float]:
        """Size by price. Rebuilt on the first read after a change: read it, don't keep it."""
        if self._sizes_version != self._version:
            entries = self._entries
            self._sizes = {p: entries[k][0] for p, k in zip(self.prices, self._keys, strict=True)}
            self._sizes_version = self._version
        return self._sizes

    @property
    def raw(self) -> dict[float, PriceSize]:
        """The `[price, size]` strings by price, as received (rebuilt like `sizes`)."""
        if self._raw_version != self._version:
            entries = self._entries
            self._raw = {p: entries[k][1] for p, k in zip(self.prices, self._keys, strict=True)}
            self._raw_version = self._version
        return self._raw

    def size_at_index(self, i: int) -> float:
        """Size of the level at `prices[i]`."""
        return self._entries[self._keys[i]][0]

    def size_of(self, price: float) -> float:
        """Size resting at `price`, 0 if none."""
        prices = self.prices
        i = bisect_left(prices, price)
        if i < len(prices) and prices[i] == price:
            return self._entries[self._keys[i]][0]
        return 0.0

    def best(self) -> float | None:
        prices = self.prices
        if not prices:
            return None
        return prices[-1] if self.is_bid else prices[0]

    def worst(self) -> float | None:
        """The level farthest from the touch: where the depth window ends."""
        prices = self.prices
        if not prices:
            return None
        return prices[0] if self.is_bid else prices[-1]

    def _best_indices(self, n: int) -> range:
        count = len(self.prices)
        if self.is_bid:
            return range(count - 1, max(count - n, 0) - 1, -1)
        return range(min(n, count))

    def top(self, n: int) -> list[tuple[float, float]]:
        """The n best levels, best first."""
        prices = self.prices
        entries = self._entries
        keys = self._keys
        return [(prices[i], entries[keys[i]][0]) for i in self._best_indices(n)]

    def raw_top(self, n: int) -> list[list[str]]:
        """The n best levels as the exchange's strings, best first."""
        entries = self._entries
        keys = self._keys
        return [list(entries[keys[i]][1]) for i in self._best_indices(n)]

    def index(self, price: float) -> int:
        """Position of `price` in the ascending price list (or where it would go)."""
        return bisect_left(self.prices, price)

    def volume_between(self, low: float, high: float) -> float:
        """Total size resting at prices in [low, high]."""
        prices = self.prices
        entries = self._entries
        keys = self._keys
        i = bisect_left(prices, low)
        total = 0.0
        n = len(prices)
        while i < n and prices[i] <= high:
            total += entries[keys[i]][0]
            i += 1
        return total

    def clear(self) -> None:
        self.prices = []
        self._keys = []
        self._entries = {}
        self.total = 0.0
        self._version += 1


class OrderBook:
    """Book of one symbol; `changes` lists the levels the last message touched (see module doc)."""

    __slots__ = (
        "absent_deletes",
        "asks",
        "bids",
        "changes",
        "depth",
        "gaps",
        "last_u",
        "seq",
        "stale",
        "symbol",
        "ts",
        "valid",
        "watch_notional",
    )

    def __init__(self, symbol: str, depth: int = 0, watch_notional: float = 0.0) -> None:
        self.symbol = symbol
        # Levels per side of the subscribed window (orderbook.200 → 200); 0 when unknown.
        self.depth = depth
        self.watch_notional = watch_notional
        self.bids = BookLadder(is_bid=True)
        self.asks = BookLadder(is_bid=False)
        self.last_u = 0
        self.seq = 0
        self.ts = 0
        self.valid = False
        self.changes: list[Change] = []
        self.absent_deletes = 0
        self.stale = 0
        self.gaps = 0

    def ladder(self, side: BookSide) -> BookLadder:
        return self.bids if side is _BID else self.asks

    def apply(
        self,
        is_snapshot: bool,
        bids: list[PriceSize],
        asks: list[PriceSize],
        u: int,
        seq: int,
        ts: int,
    ) -> ApplyResult:
        """Apply one `orderbook.*` message given as string levels; see the module docstring.

        Raises `ValueError`, with the book unchanged, if a level cannot be read."""
        bid_prices, bid_sizes = parse_levels(bids)
        ask_prices, ask_sizes = parse_levels(asks)
        return self._apply(
            is_snapshot, bids, bid_prices, bid_sizes, asks, ask_prices, ask_sizes, u, seq, ts,
        )

    def apply_message(self, message: BookMessage) -> ApplyResult:
        """Apply a decoded message: its levels are parsed already."""
        bids = message.bids
        asks = message.asks
        u = message.u
        if self.valid and u == self.last_u + 1 and not message.is_snapshot:
            # The usual case, without the general path's dispatch.
            self.changes.clear()
            if bids.levels:
                self._update(self.bids, _BID, bids.levels, bids.prices, bids.sizes)
            if asks.levels:
                self._update(self.asks, _ASK, asks.levels, asks.prices, asks.sizes)
            self.last_u = u
            self.seq = message.seq
            self.ts = message.ts
            return ApplyResult.APPLIED
        return self._apply(
            message.is_snapshot, bids.levels, bids.prices, bids.sizes, asks.levels, asks.prices,
            asks.sizes, message.u, message.seq, message.ts,
        )

    def _apply(
        self,
        is_snapshot: bool,
        bids: list[PriceSize],
        bid_prices: list[float],
        bid_sizes: list[float],
        asks: list[PriceSize],
        ask_prices: list[float],
        ask_sizes: list[float],
        u: int,
        seq: int,
        ts: int,
    ) -> ApplyResult:
        self.changes.clear()
        if is_snapshot or u == 1:
            self._load(self.bids, _BID, bids, bid_prices, bid_sizes)
            self._load(self.asks, _ASK, asks, ask_prices, ask_sizes)
            self.valid = True
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
            if bids:
                self._update(self.bids, _BID, bids, bid_prices, bid_sizes)
            if asks:
                self._update(self.asks, _ASK, asks, ask_prices, ask_sizes)
            result = ApplyResult.APPLIED
        self.last_u = u
        self.seq = seq
        self.ts = ts
        return result

    def _load(
        self,
        ladder: BookLadder,
        side: BookSide,
        levels: list[PriceSize],
        prices: list[float],
        sizes: list[float],
    ) -> None:
        """Replace one side with a snapshot's levels, listing what differs from before."""
        chosen: dict[float, Entry] = {}
        for price, size, level in zip(prices, sizes, levels, strict=True):
            if size > 0.0:
                chosen[price] = [size, level]
            else:
                chosen.pop(price, None)
        changes = self.changes
        watch = self.watch_notional
        old = ladder.sizes
        for price, size in old.items():
            if price not in chosen and size * price >= watch:
                changes.append((side, price, size, 0.0))
        for price, (size, _) in chosen.items():
            before = old.get(price, 0.0)
            if before != size and (size if size > before else before) * price >= watch:
                changes.append((side, price, before, size))
        ladder.prices = sorted(chosen)
        ladder._keys = [chosen[p][1][0] for p in ladder.prices]
        ladder._entries = {entry[1][0]: entry for entry in chosen.values()}
        ladder.total = sum(size for size, _ in chosen.values())
        ladder._version += 1

    def _update(
        self,
        ladder: BookLadder,
        side: BookSide,
        levels: list[PriceSize],
        prices_in: list[float],
        sizes_in: list[float],
    ) -> None:
        """Apply one side of a delta: size 0 deletes, an unknown price inserts, else updates."""
        entries = ladder._entries
        get = entries.get
        prices = ladder.prices
        keys = ladder._keys
        changes = self.changes
        watch = self.watch_notional
        total = ladder.total
        # Equal lengths by construction (parse_levels); strict checking costs on the hot path.
        for price, size, level in zip(prices_in, sizes_in, levels, strict=False):
            key = level[0]
            entry = get(key)
            if size == 0.0:
                i = bisect_left(prices, price)
                if entry is None:
                    if i == len(prices) or prices[i] != price:
                        self.absent_deletes += 1
                        continue
                    key = keys[i]  # the same price, spelled differently
                    entry = entries[key]
                del entries[key]
                del prices[i]
                del keys[i]
                old = entry[0]
                total -= old
                if old * price >= watch:
                    changes.append((side, price, old, 0.0))
            elif entry is None:
                i = bisect_left(prices, price)
                if i < len(prices) and prices[i] == price:
                    old = entries.pop(keys[i])[0]  # the same price, spelled differently
                    keys[i] = key
                else:
                    old = 0.0
                    prices.insert(i, price)
                    keys.insert(i, key)
                entries[key] = [size, level]
                total += size - old
                if (size if size > old else old) * price >= watch:
                    changes.append((side, price, old, size))
            else:
                old = entry[0]
                entry[0] = size
                entry[1] = level
                total += size - old
                if (size if size > old else old) * price >= watch:
                    changes.append((side, price, old, size))
        ladder.total = total
        ladder._version += 1

    def invalidate(self) -> None:
        """Mark the book unusable until the next snapshot (e.g. on a lost connection)."""
        self.valid = False

    def best_bid(self) -> float | None:
        return self.bids.best()

    def best_ask(self) -> float | None:
        return self.asks.best()

    def mid(self) -> float | None:
        bids = self.bids.prices
        asks = self.asks.prices
        if not bids or not asks:
            return None
        return (bids[-1] + asks[0]) * 0.5

    def crossed(self) -> bool:
        bid = self.bids.best()
        ask = self.asks.best()
        return bid is not None and ask is not None and bid >= ask

    def size_at(self, side: BookSide, price: float) -> float:
        return self.ladder(side).size_of(price)

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
