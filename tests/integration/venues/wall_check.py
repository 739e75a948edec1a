"""An independent reading of DESIGN §2 over recorded frames, to check the simulated walls.

Deliberately simple and separate from the market engine: single levels only (no clusters), the
four criteria on the top-50 window, hysteresis at 0.75 x the notional threshold, trades at the
level's price counted as eaten, and a fate when the level goes:

- left the window (deleted while beyond the side's 50th level): HELD if price traded at or within
  0.2 % of it, else OUT;
- otherwise EATEN when trades took at least 40 % of what it lost, SPOOF when more was pulled;
- still there at the end: HELD if tested, else ALIVE.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from densitytui.market.book import ApplyResult, OrderBook
from densitytui.model import BookSide

MIN_NOTIONAL = 50_000.0
RELATIVE = 3.0
NEIGHBOURS = 5
SHARE = 0.05
DISTANCE = 0.02
KEEP = 0.75
TEST_DISTANCE = 0.002
MIN_LIFETIME_MS = 10_000


@dataclass
class Wall:
    symbol: str
    side: BookSide
    price: float
    first_seen: int
    peak: float
    size: float
    eaten: float = 0.0
    tested: bool = False
    fate: str = ""
    last_seen: int = 0


@dataclass
class WallCheck:
    books: dict[str, OrderBook] = field(default_factory=dict)
    live: dict[tuple[str, BookSide, float], Wall] = field(default_factory=dict)
    done: list[Wall] = field(default_factory=list)
    crossed: int = 0
    gaps: int = 0
    messages: int = 0

    def feed(self, frames: Iterable[bytes]) -> None:
        for frame in frames:
            self.messages += 1
            message = orjson.loads(frame)
            topic: str = message["topic"]
            if topic.startswith("orderbook."):
                self._book(message)
            elif topic.startswith("publicTrade."):
                self._trades(message["data"])

    def finish(self) -> list[Wall]:
        for wall in self.live.values():
            wall.fate = "held" if wall.tested else "alive"
            self.done.append(wall)
        self.live.clear()
        return self.done

    def outcomes(self, min_lifetime_ms: int = MIN_LIFETIME_MS) -> Counter[tuple[str, str]]:
        """(symbol, fate) counts of walls that lived at least `min_lifetime_ms`."""
        return Counter(
            (wall.symbol, wall.fate)
            for wall in self.done
            if wall.last_seen - wall.first_seen >= min_lifetime_ms
        )

    def _trades(self, trades: list[dict[str, object]]) -> None:
        for trade in trades:
            symbol = str(trade["s"])
            price = float(str(trade["p"]))
            size = float(str(trade["v"]))
            hit = BookSide.ASK if trade["S"] == "Buy" else BookSide.BID
            for (wall_symbol, side, wall_price), wall in self.live.items():
                if wall_symbol != symbol:
                    continue
                if abs(price - wall_price) <= TEST_DISTANCE * wall_price:
                    wall.tested = True
                if side is hit and price == wall_price:
                    wall.eaten += size

    def _book(self, message: dict[str, object]) -> None:
        data = message["data"]
        assert isinstance(data, dict)
        symbol = data["s"]
        book = self.books.setdefault(symbol, OrderBook(symbol))
        ts = int(str(message["ts"]))
        result = book.apply(message["type"] == "snapshot", data["b"], data["a"], data["u"],
                            data["seq"], ts)
        if result is ApplyResult.GAP:
            self.gaps += 1
        if book.crossed():
            self.crossed += 1
        mid = book.mid()
        if mid is None:
            return
        for side in (BookSide.BID, BookSide.ASK):
            self._side(book, side, mid, ts)

    def _side(self, book: OrderBook, side: BookSide, mid: float, ts: int) -> None:
        ladder = book.ladder(side)
        top = ladder.top(50)
        total = sum(size for _, size in top)
        for key, wall in list(self.live.items()):
            if key[0] != book.symbol or key[1] is not side:
                continue
            size = ladder.sizes.get(wall.price, 0.0)
            if size * wall.price >= KEEP * MIN_NOTIONAL:
                wall.size = size
                wall.peak = max(wall.peak, size)
                wall.last_seen = ts
                continue
            deepest = top[-1][0] if top else wall.price
            beyond = wall.price < deepest if side is BookSide.BID else wall.price > deepest
            if size == 0.0 and len(top) == 50 and beyond:
                wall.fate = "held" if wall.tested else "out"
            else:
                lost = wall.peak - size
                wall.fate = "eaten" if wall.eaten >= 0.4 * lost else "spoof"
            wall.last_seen = ts
            self.done.append(wall)
            del self.live[key]
        for index, (price, size) in enumerate(top):
            key = (book.symbol, side, price)
            if key in self.live or abs(price - mid) > DISTANCE * mid:
                continue
            if price * size < MIN_NOTIONAL or size < SHARE * total:
                continue
            near = sorted(
                (i for i in range(len(top)) if i != index), key=lambda i: (abs(i - index), i)
            )[:NEIGHBOURS]
            if not near or size < RELATIVE * sum(top[i][1] for i in near) / len(near):
                continue
            self.live[key] = Wall(book.symbol, side, price, ts, size, size, last_seen=ts)
