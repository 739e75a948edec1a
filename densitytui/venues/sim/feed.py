"""`MarketData` over the simulated market: virtual time paced against a clock by a speed factor.

The market advances only while `messages()` is iterated, 20 ms of virtual time per step. At speed
X it keeps virtual time X times faster than the clock (sleeping when ahead, catching up in a burst
when the consumer was slow); at speed 0 it runs as fast as it can and yields to the event loop
between steps. The clock and the sleep are injectable so tests run without real waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from densitytui.model import Instrument, Kline, Ticker
from densitytui.venues.base import ExchangeError, MarketData
from densitytui.venues.sim.market import SimMarket, UnknownSymbol

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Sleeping for less than this is not worth a timer; the next steps make up for it.
MIN_SLEEP_S = 0.002


class SimMarketData(MarketData):
    """The simulated market as a venue's public data."""

    def __init__(
        self,
        market: SimMarket,
        speed: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        self.market = market
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._closed = False

    def now_ms(self) -> int:
        """Virtual time of the market, in ms: the clock of everything that trades on it."""
        return self.market.now_ms

    async def instruments(self) -> list[Instrument]:
        return self.market.instruments()

    async def tickers(self) -> list[Ticker]:
        return self.market.tickers()

    async def klines(self, symbol: str, interval_min: int, limit: int) -> list[Kline]:
        try:
            return self.market.klines(symbol, interval_min, limit)
        except UnknownSymbol as exc:
            raise ExchangeError(str(exc), 10001) from None

    async def subscribe(self, symbols: Sequence[str]) -> None:
        try:
            self.market.subscribe(symbols)
        except UnknownSymbol as exc:
            raise ExchangeError(f"error:handler not found ({exc})") from None

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        try:
            self.market.unsubscribe(symbols)
        except UnknownSymbol as exc:
            raise ExchangeError(f"error:handler not found ({exc})") from None

    async def messages(self) -> AsyncIterator[bytes]:
        """Frames of the subscribed symbols, for as long as the iteration goes on."""
        market = self.market
        speed = self.speed
        real_start = self._clock()
        virtual_start = market.now_ms
        while not self._closed:
            for frame in market.step():
                yield frame
            if speed > 0:
                due = real_start + (market.now_ms - virtual_start) / 1000 / speed
                delay = due - self._clock()
                if delay >= MIN_SLEEP_S:
                    await self._sleep(delay)
                    continue
            await self._sleep(0)

    async def close(self) -> None:
        self._closed = True
