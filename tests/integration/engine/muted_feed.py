"""`MutedBooks`: the simulated market's public data with a switch that stops the book messages
of chosen symbols while their trades and tickers go on (a venue that stalls one book)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from densitytui.model import Instrument, Kline, Ticker
from densitytui.venues.base import MarketData
from densitytui.venues.sim import SimMarketData


class MutedBooks(MarketData):
    """Delegates to a `SimMarketData`; `muted` names the symbols whose books stop."""

    def __init__(self, data: SimMarketData) -> None:
        self.data = data
        self.muted: set[str] = set()
        self.dropped = 0
        # Trade frames of the muted symbols that went through meanwhile.
        self.trades = 0

    async def instruments(self) -> list[Instrument]:
        return await self.data.instruments()

    async def tickers(self) -> list[Ticker]:
        return await self.data.tickers()

    async def klines(self, symbol: str, interval_min: int, limit: int) -> list[Kline]:
        return await self.data.klines(symbol, interval_min, limit)

    async def subscribe(self, symbols: Sequence[str]) -> None:
        await self.data.subscribe(symbols)

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        await self.data.unsubscribe(symbols)

    async def messages(self) -> AsyncIterator[bytes]:
        async for frame in self.data.messages():
            if self.muted:
                head = frame[:60]
                if any(symbol.encode() in head for symbol in self.muted):
                    if head.startswith(b'{"topic":"orderbook.'):
                        self.dropped += 1
                        continue
                    if head.startswith(b'{"topic":"publicTrade.'):
                        self.trades += 1
            yield frame

    async def close(self) -> None:
        await self.data.close()
