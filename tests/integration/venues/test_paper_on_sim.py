"""The default venue end to end: the simulated market, books kept from its frames, paper fills."""

from __future__ import annotations

import orjson

from densitytui.config import Config
from densitytui.market.book import OrderBook
from densitytui.model import OrderRequest, OrderStatus, Position, Side, Trade
from densitytui.venues.factory import sim_venue
from densitytui.venues.paper import PaperBroker
from densitytui.venues.sim import SIM_EPOCH_MS, SimMarketData

SYMBOLS = ["BTCUSDT", "SOLUSDT"]


class Books:
    """The least a venue's consumer does: keep each symbol's book, pass trades and the tickers'
    mark prices to the broker."""

    def book(self, symbol: str) -> OrderBook | None:
        return self.books.get(symbol)

    def __init__(self) -> None:
        self.books: dict[str, OrderBook] = {}
        self.marks: dict[str, float] = {}

    def feed(self, frame: bytes, broker: PaperBroker) -> None:
        message = orjson.loads(frame)
        topic: str = message["topic"]
        data = message["data"]
        if topic.startswith("tickers.") and data.get("markPrice"):
            self.marks[data["symbol"]] = float(data["markPrice"])
            broker.on_mark(data["symbol"], float(data["markPrice"]), message["ts"])
        elif topic.startswith("orderbook."):
            book = self.books.setdefault(data["s"], OrderBook(data["s"]))
            book.apply(message["type"] == "snapshot", data["b"], data["a"], data["u"],
                       data["seq"], message["ts"])
        elif topic.startswith("publicTrade."):
            broker.on_trades(
                Trade(t["s"], t["T"], float(t["p"]), float(t["v"]),
                      Side.BUY if t["S"] == "Buy" else Side.SELL, t["i"])
                for t in data
            )


async def test_stops_close_paper_positions_at_the_simulated_book() -> None:
    config = Config.model_validate(
        {"app": {"seed": 7}, "sim": {"speed": 0, "symbols": SYMBOLS}}
    )
    books = Books()
    venue = sim_venue(config, books.book, start_ms=SIM_EPOCH_MS)
    market = venue.market
    broker = venue.exchange
    assert isinstance(market, SimMarketData) and isinstance(broker, PaperBroker)
    assert [i.symbol for i in await market.instruments()] == SYMBOLS
    await market.subscribe(SYMBOLS)
    entries = {}
    async for frame in market.messages():
        books.feed(frame, broker)
        now = market.now_ms()
        if not entries and now >= SIM_EPOCH_MS + 2_000:
            btc = books.book("BTCUSDT")
            sol = books.book("SOLUSDT")
            assert btc is not None and sol is not None
            best_ask, best_bid = btc.best_ask(), sol.best_bid()
            assert best_ask is not None and best_bid is not None
            entries["BTCUSDT"] = (best_ask, await broker.place_order(OrderRequest(
                "long-btc", "BTCUSDT", Side.BUY, 0.02, stop_loss=best_ask * 0.9997)))
            entries["SOLUSDT"] = (best_bid, await broker.place_order(OrderRequest(
                "short-sol", "SOLUSDT", Side.SELL, 2.0, stop_loss=best_bid * 1.003)))
        if (entries and not await broker.positions()) or now >= SIM_EPOCH_MS + 240_000:
            break
    await market.close()
    for position in await broker.positions():
        await broker.place_order(OrderRequest(
            f"close-{position.symbol}", position.symbol, position.side.opposite, position.qty,
            reduce_only=True))
    await broker.close()
    updates = [update async for update in broker.updates()]
    closed = [u for u in updates if isinstance(u, Position) and u.closed_at is not None]

    long_touch, long_entry = entries["BTCUSDT"]
    short_touch, short_entry = entries["SOLUSDT"]
    assert long_entry.status is OrderStatus.FILLED and long_entry.avg_price >= long_touch
    assert short_entry.status is OrderStatus.FILLED and short_entry.avg_price <= short_touch
    assert sorted(p.symbol for p in closed) == SYMBOLS
    stopped = [p for p in closed if p.exit_reason == "stop_loss"]
    assert stopped, "neither stop triggered in four simulated minutes"
    for position in stopped:
        assert position.stop_loss is not None and position.exit_price is not None
        if position.side is Side.BUY:
            assert position.exit_price <= position.stop_loss
        else:
            assert position.exit_price >= position.stop_loss
    balance = await broker.balance()
    net = sum(p.realized_pnl - p.fees for p in closed)
    assert balance.wallet == balance.equity == balance.available
    assert abs(balance.wallet - (1_000.0 + net)) < 1e-9


async def test_paper_positions_are_marked_at_the_simulated_mark_price() -> None:
    config = Config.model_validate(
        {"app": {"seed": 11}, "sim": {"speed": 0, "symbols": ["ETHUSDT"]}}
    )
    books = Books()
    venue = sim_venue(config, books.book, start_ms=SIM_EPOCH_MS)
    market, broker = venue.market, venue.exchange
    assert isinstance(market, SimMarketData) and isinstance(broker, PaperBroker)
    await market.subscribe(["ETHUSDT"])
    opened = False
    marked = []
    async for frame in market.messages():
        books.feed(frame, broker)
        if not opened and market.now_ms() >= SIM_EPOCH_MS + 1_000:
            await broker.place_order(OrderRequest("eth", "ETHUSDT", Side.BUY, 0.01))
            opened = True
        elif opened and b'"markPrice"' in frame:
            position = (await broker.positions())[0]
            marked.append((position.mark_price, books.marks["ETHUSDT"]))
            # Equity follows the mark the ticker gave, not the book.
            pnl = (books.marks["ETHUSDT"] - position.entry_price) * position.qty
            balance = await broker.balance()
            assert abs(balance.unrealized_pnl - pnl) < 1e-9
        if len(marked) >= 20 or market.now_ms() >= SIM_EPOCH_MS + 120_000:
            break
    await market.close()
    assert len(marked) >= 20, "the simulated market sent too few tickers with a mark price"
    assert all(position_mark == ticker_mark for position_mark, ticker_mark in marked)
