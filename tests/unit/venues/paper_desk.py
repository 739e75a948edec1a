"""A paper broker over books a test sets, with a clock the test moves: shared by the paper tests."""

from __future__ import annotations

from collections.abc import Iterable

from densitytui.market.book import OrderBook
from densitytui.model import Instrument, Order, OrderRequest, Side, Trade
from densitytui.venues.paper import PaperBroker

FEE = 0.00055
TEST = Instrument("TESTUSDT", tick_size=0.1, qty_step=0.001, min_qty=0.001, min_notional=5.0,
                  max_market_qty=500.0, max_leverage=100.0)
COARSE = Instrument("COARSEUSDT", tick_size=0.01, qty_step=0.001, min_qty=0.01, min_notional=5.0,
                    max_market_qty=100.0)

Levels = list[tuple[float, float]]


def make_book(symbol: str, bids: Levels, asks: Levels) -> OrderBook:
    book = OrderBook(symbol)
    book.apply(True, [[f"{p}", f"{s}"] for p, s in bids], [[f"{p}", f"{s}"] for p, s in asks],
               1, 1, 0)
    return book


class Desk:
    """A broker over books the test sets, with a clock the test moves."""

    def __init__(self, balance: float = 1_000.0, leverage: float = 10.0,
                 instruments: Iterable[Instrument] = (TEST, COARSE)) -> None:
        self.books: dict[str, OrderBook] = {}
        self.now = 1_000
        self.instruments = list(instruments)
        self.broker = PaperBroker(self.instruments, self.books.get, lambda: self.now,
                                  starting_balance=balance, leverage=leverage)
        self.count = 0

    def show(self, bids: Levels, asks: Levels, symbol: str = "TESTUSDT") -> OrderBook:
        """A new snapshot for `symbol`, as a new book object."""
        self.books[symbol] = make_book(symbol, bids, asks)
        return self.books[symbol]

    def delta(self, bids: Levels, asks: Levels, symbol: str = "TESTUSDT") -> None:
        """The next delta on the book the broker already sees (size 0 deletes)."""
        book = self.books[symbol]
        book.apply(False, [[f"{p}", f"{s}"] for p, s in bids],
                   [[f"{p}", f"{s}"] for p, s in asks], book.last_u + 1, book.seq + 1, self.now)

    def trade(self, price: float, side: Side = Side.SELL, symbol: str = "TESTUSDT") -> None:
        self.now += 1
        self.broker.on_trade(Trade(symbol, self.now, price, 0.1, side))

    def mark(self, price: float, symbol: str = "TESTUSDT") -> None:
        self.now += 1
        self.broker.on_mark(symbol, price, self.now)

    async def order(self, side: Side, qty: float, *, stop: float | None = None,
                    reduce: bool = False, symbol: str = "TESTUSDT",
                    link: str | None = None) -> Order:
        self.count += 1
        request = OrderRequest(link or f"t-{self.count}", symbol, side, qty, stop_loss=stop,
                               reduce_only=reduce)
        return await self.broker.place_order(request)

    def drain(self) -> list[object]:
        queue = self.broker._updates
        out = []
        while not queue.empty():
            out.append(queue.get_nowait())
        return out
