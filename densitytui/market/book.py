"""L2 order book of one symbol, maintained from Bybit v5 `orderbook.*` messages.

Each side keeps its sizes in a dict keyed by float price and its prices ascending in a list
maintained with `bisect`, so the best price and the top N are a slice, never a sort of the whole
book; windows are a few hundred levels deep, where inserting into a Python list beats any tree.
Only inserts and deletes touch the list; an update is one dict store. A price spelled two ways
(`"1.50"`, `"1.5"`) is one level: the float decides.

Levels arrive as `(price, size)` floats, checked by the decoder (`decode.parse_levels` for
callers holding strings), so a message is whole before anything changes. The exchange's
strings are not kept: Bybit prints every price of a symbol with the same number of decimals,
and every size likewise, so `raw_top` prints the levels back exactly as received from those two
numbers, learnt from the snapshot (`price_decimals`, `size_decimals`).

Sequence rules (../shared/bybit/PROTOCOL.md): a snapshot replaces the book; `u == 1` is a service
restart and is treated as a snapshot; a delta applies only when `u == last + 1`; `u <= last` is
stale and dropped; `u > last + 1` is a gap that invalidates the book until the next snapshot.
More than `STALE_RUN_LIMIT` stale deltas in a row is a gap too: the stream has moved on to a
counter the book does not follow, and dropping everything while reading valid would freeze it.
A message that leaves the book crossed (best bid >= best ask) is applied, then the book is
invalid until the next snapshot: a crossed book cannot be the exchange's. A delete of a price
the book does not hold is tolerated and counted in `absent_deletes`.

`changes` lists the levels the last message touched as `(side, price, old_size, new_size)`.
Setting `watch_notional` limits it to levels whose old or new notional reaches that many USDT:
the density tracker only cares about large levels, and recording every small one would cost
more than applying it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from enum import IntEnum

from densitytui.market.decode import BookMessage, Level, PriceSize, parse_levels, text_decimals
from densitytui.model import BookSide

Change = tuple[BookSide, float, float, float]

STALE_RUN_LIMIT = 5
"""Stale deltas in a row (`u <= last`) tolerated before the book counts a gap. A reconnect may
replay a few old messages; a longer run means the book follows the wrong counter."""

_BID = BookSide.BID
_ASK = BookSide.ASK


class ApplyResult(IntEnum):
    APPLIED = 0
    SNAPSHOT = 1
    STALE = 2
    GAP = 3
    # A delta arrived while the book waits for a snapshot after a gap.
    IGNORED = 4
    # The message was applied and left best bid >= best ask: invalid until a snapshot.
    CROSSED = 5


class BookLadder:
    """One side of the book: prices ascending, sizes by price, and the running visible volume."""

    __slots__ = ("_size", "is_bid", "prices", "total")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.prices: list[float] = []
        self.total = 0.0
        self._size: dict[float, float] = {}

    def __len__(self) -> int:
        return len(self.prices)

    @property
    def sizes(self) -> dict[float, float]:
        """Size by price, ascending: a new dict, made when read."""
        size = self._size
        return {p: size[p] for p in self.prices}

    def size_at_index(self, i: int) -> float:
        """Size of the level at `prices[i]`."""
        return self._size[self.prices[i]]

    def size_of(self, price: float) -> float:
        """Size resting at `price`, 0 if none."""
        return self._size.get(price, 0.0)

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

    def _best_prices(self, n: int) -> list[float]:
        prices = self.prices
        if self.is_bid:
            return prices[: -n - 1 : -1] if n > 0 else []
        return prices[:n] if n > 0 else []

    def top(self, n: int) -> list[tuple[float, float]]:
        """The n best levels, best first."""
        size = self._size
        return [(p, size[p]) for p in self._best_prices(n)]

    def index(self, price: float) -> int:
        """Position of `price` in the ascending price list (or where it would go)."""
        return bisect_left(self.prices, price)

    def volume_between(self, low: float, high: float) -> float:
        """Total size resting at prices in [low, high]; the side's running total when all of it
        lies inside (a depth window narrower than the range: the usual case of book pressure,
        asked on every trade)."""
        prices = self.prices
        if not prices:
            return 0.0
        if low <= prices[0] and prices[-1] <= high:
            return self.total
        inside = prices[bisect_left(prices, low) : bisect_right(prices, high)]
        return sum(map(self._size.__getitem__, inside), 0.0)

    def clear(self) -> None:
        self.prices = []
        self._size = {}
        self.total = 0.0


class OrderBook:
    """Book of one symbol; `changes` lists the levels the last message touched (see module doc)."""

    __slots__ = (
        "absent_deletes",
        "asks",
        "bids",
        "changes",
        "crossings",
        "depth",
        "gaps",
        "last_u",
        "price_decimals",
        "seq",
        "size_decimals",
        "stale",
        "stale_run",
        "symbol",
        "ts",
        "unseen",
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
        # Stale deltas since the last one applied.
        self.stale_run = 0
        self.gaps = 0
        self.crossings = 0
        # Changes of a message that crossed the book: nobody digested them, so the next
        # snapshot reports its differences against the book as it was before that message.
        self.unseen: list[Change] = []
        # How the exchange prints prices and sizes (-1: unknown, print the float).
        self.price_decimals = -1
        self.size_decimals = -1

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
        bid_levels = parse_levels(bids)
        ask_levels = parse_levels(asks)
        price_places, size_places = text_decimals([*bids, *asks])
        self.price_decimals = max(self.price_decimals, price_places)
        self.size_decimals = max(self.size_decimals, size_places)
        return self._apply(is_snapshot, bid_levels, ask_levels, u, seq, ts)

    def apply_message(self, message: BookMessage) -> ApplyResult:
        """Apply a decoded message: its levels are parsed already."""
        u = message.u
        if self.valid and u == self.last_u + 1 and not message.is_snapshot:
            # The usual case, without the general path's dispatch.
            self.changes.clear()
            bids = message.bids
            asks = message.asks
            if bids:
                self._update(self.bids, _BID, bids)
            if asks:
                self._update(self.asks, _ASK, asks)
            self.last_u = u
            self.stale_run = 0
            self.seq = message.seq
            self.ts = message.ts
            bid = self.bids.prices
            ask = self.asks.prices
            if bid and ask and bid[-1] >= ask[0]:
                return self._crossed()
            return ApplyResult.APPLIED
        if message.price_decimals >= 0:
            self.price_decimals = message.price_decimals
            self.size_decimals = message.size_decimals
        return self._apply(
            message.is_snapshot, message.bids, message.asks, u, message.seq, message.ts,
        )

    def _apply(
        self,
        is_snapshot: bool,
        bids: list[Level],
        asks: list[Level],
        u: int,
        seq: int,
        ts: int,
    ) -> ApplyResult:
        self.changes.clear()
        if is_snapshot or u == 1:
            self._load(self.bids, _BID, bids)
            self._load(self.asks, _ASK, asks)
            self.valid = True
            result = ApplyResult.SNAPSHOT
        elif not self.valid:
            return ApplyResult.IGNORED
        elif u <= self.last_u:
            self.stale += 1
            self.stale_run += 1
            if self.stale_run > STALE_RUN_LIMIT:
                self.valid = False
                self.gaps += 1
                return ApplyResult.GAP
            return ApplyResult.STALE
        elif u != self.last_u + 1:
            self.valid = False
            self.gaps += 1
            return ApplyResult.GAP
        else:
            if bids:
                self._update(self.bids, _BID, bids)
            if asks:
                self._update(self.asks, _ASK, asks)
            result = ApplyResult.APPLIED
        self.last_u = u
        self.stale_run = 0
        self.seq = seq
        self.ts = ts
        if self.crossed():
            return self._crossed()
        return result

    def _crossed(self) -> ApplyResult:
        self.valid = False
        self.crossings += 1
        self.unseen = self.changes[:]
        return ApplyResult.CROSSED

    def _load(self, ladder: BookLadder, side: BookSide, levels: list[Level]) -> None:
        """Replace one side with a snapshot's levels, listing what differs from before."""
        chosen: dict[float, float] = {}
        for price, size in levels:
            if size > 0.0:
                chosen[price] = size
            else:
                chosen.pop(price, None)
        changes = self.changes
        watch = self.watch_notional
        old = ladder._size
        before_prices = ladder.prices
        if self.unseen:
            old = dict(old)
            for change_side, price, size, _ in reversed(self.unseen):
                if change_side is side:
                    if size:
                        old[price] = size
                    else:
                        old.pop(price, None)
            before_prices = sorted(old)
            if side is _ASK:
                self.unseen = []
        for price in before_prices:
            size = old[price]
            if price not in chosen and size * price >= watch:
                changes.append((side, price, size, 0.0))
        for price, size in chosen.items():
            before = old.get(price, 0.0)
            if before != size and (size if size > before else before) * price >= watch:
                changes.append((side, price, before, size))
        ladder.prices = sorted(chosen)
        ladder._size = chosen
        ladder.total = sum(chosen.values())

    def _update(self, ladder: BookLadder, side: BookSide, levels: list[Level]) -> None:
        """Apply one side of a delta: size 0 deletes, an unknown price inserts, else updates."""
        size_of = ladder._size
        get = size_of.get
        pop = size_of.pop
        prices = ladder.prices
        changes = self.changes
        watch = self.watch_notional
        total = ladder.total
        for price, size in levels:
            if size:
                old = get(price)
                size_of[price] = size
                if old is None:
                    insort(prices, price)
                    total += size
                    if size * price >= watch:
                        changes.append((side, price, 0.0, size))
                else:
                    total += size - old
                    if (size if size > old else old) * price >= watch:
                        changes.append((side, price, old, size))
            else:
                # One lookup: a delete is a third of all levels.
                old = pop(price, None)
                if old is None:
                    self.absent_deletes += 1
                else:
                    del prices[bisect_left(prices, price)]
                    total -= old
                    if old * price >= watch:
                        changes.append((side, price, old, 0.0))
        ladder.total = total

    def copy_from(self, other: OrderBook) -> None:
        """Become a copy of `other`'s levels and sequence, valid if it is: a private book to
        apply deltas on (a replay's fill book), without re-reading every level as a snapshot."""
        for mine, theirs in ((self.bids, other.bids), (self.asks, other.asks)):
            mine.prices = theirs.prices[:]
            mine._size = theirs._size.copy()
            mine.total = theirs.total
        self.changes.clear()
        self.unseen = []
        self.last_u = other.last_u
        self.seq = other.seq
        self.ts = other.ts
        self.valid = other.valid
        self.stale_run = 0
        self.price_decimals = other.price_decimals
        self.size_decimals = other.size_decimals

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
        bids = self.bids.prices
        asks = self.asks.prices
        return bool(bids) and bool(asks) and bids[-1] >= asks[0]

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
        """The n best levels a side as the exchange printed them, best first."""
        return {"bids": self._printed(self.bids.top(n)), "asks": self._printed(self.asks.top(n))}

    def _printed(self, levels: list[tuple[float, float]]) -> list[list[str]]:
        price_places = self.price_decimals
        size_places = self.size_decimals
        return [
            [
                f"{price:.{price_places}f}" if price_places >= 0 else repr(price),
                f"{size:.{size_places}f}" if size_places >= 0 else repr(size),
            ]
            for price, size in levels
        ]
