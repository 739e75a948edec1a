"""`ReplayMarketData`: recorded Bybit messages as a venue's public data, on the recording's time.

Inputs are our recordings and the shared files (NDJSON, `.gz`), Bybit's order-book history
archives (`*_obNNN.data.zip`) and Bybit's trade history CSV files (`trade_history.py`). Every
frame carries its exchange time (`"ts"`); the files are merged on it (one file's frames keep
their order), and the virtual clock `now_ms` is the largest time replayed so far, so everything
that trades on the replay (the engine, the paper broker) runs on recorded time, as fast as the
consumer goes. A frame without a time (a control message) keeps the clock where it is.

What a recording does not hold is made up as little as possible:
- Instruments: Bybit's published rules for the symbols in `KNOWN_INSTRUMENTS`, or an
  instruments-info answer given by the caller; otherwise inferred from the first book snapshot:
  tick and qty step from the decimals the exchange printed (possibly finer than the real ones),
  minimum qty one step, minimum notional 5 USDT. Only symbols seen in the first
  `discovery_ms` of recorded time are listed (and so traded); later ones are replayed only.
- Tickers: one per listed symbol, its last price from the data, the 24 h change given
  explicitly (`change_24h`), else 0 (the engine gets no change for it, so its trend is FLAT),
  and a turnover equal to the movers filter so every listed symbol is a mover.
- `subscribe`/`unsubscribe` filter nothing: the recording holds what it holds.

Watched replays (`densitytui replay`) give a `ReplayPace`: frames then come at x`speed` of
recorded time against the wall clock, can be paused, and stepped a second of recorded time at a
time while paused; at the end of the data the stream waits (the screen keeps the last state)
until `close`. Without a pace the replay runs as fast as the consumer goes (backtests).

Honest fills (`fill_book`). The paper broker must fill an order against the book as it is
`latency_ms` of recorded time after the order, not at the moment the engine decided. Holding
the order until the replay reaches that time cannot work in lockstep: the engine waits for its
order to finish before it takes the next frame, so the order would wait for itself. Instead the
replay reads ahead: `fill_book(symbol)` is the engine's own book plus the recorded book deltas
up to `now_ms + latency_ms`, kept in one book object per symbol (the paper broker remembers
what its fills took from that object, and gives a level back when the recording changes its
size). The only other use the broker makes of it (a mark price when the recording has no
tickers) is therefore `latency_ms` ahead as well. The broker keeps the replay's clock, so the
times stored are when the engine sent the order; the price is the one `latency_ms` later.

The exchange's book (`exchange_book`). A stop rests on the exchange and fills there, on the
exchange's book, at the recorded trade that crosses it: not on the engine's book, and not
`latency_ms` later. While the paper broker holds a position on a symbol (`watch`..`unwatch`)
the replay keeps a second book of it, seeded from the engine's (valid: an entry needs it) and
fed every recorded book frame as it is handed out, so it is the recording's book as of the
trade, whatever the engine does with its own (invalid after a gap, dropped). The exchange has
no gap: after one in the recording this book carries on with the levels it knows (what the
lost deltas changed is lost), and a level the next delta crosses is stale and dropped.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from densitytui.market.book import ApplyResult, OrderBook
from densitytui.market.decode import BookMessage, DecodeError, TradeMessage, decode_frame
from densitytui.model import Instrument, Kline, Ticker
from densitytui.venues.base import MarketData
from densitytui.venues.recording import Recording, RecordingError
from densitytui.venues.trade_history import (
    TradeHistoryStats,
    is_trade_history,
    read_trade_history,
)

TimedFrame = tuple[int, bytes]
BookLookup = Callable[[str], OrderBook | None]

TIME_FIELD = re.compile(rb'"ts":\s*(\d+)')
TOPIC_FIELD = re.compile(rb'"topic":\s*"[A-Za-z]+\.(?:\d+\.)?([A-Za-z0-9]+)"')
BOOK_TOPIC = b'"topic":"orderbook.'
TRADE_TOPIC = b'"topic":"publicTrade.'
DEFAULT_MIN_NOTIONAL = 5.0
# A watched replay does not sleep for less than this; the next frames make up for it.
MIN_SLEEP_S = 0.002

GIVEN = "given"
KNOWN = "known"
INFERRED = "inferred"

KNOWN_INSTRUMENTS = {
    # ../shared/bybit/docs-examples/rest_market_instruments_info_linear_response.json
    "BTCUSDT": Instrument("BTCUSDT", 0.1, 0.001, 0.001, 5.0, 500.0, max_leverage=100.0),
}


def frame_symbol(frame: bytes) -> str | None:
    found = TOPIC_FIELD.search(frame)
    return found.group(1).decode() if found else None


class ReplayFile:
    """One input file as (time, frame) pairs, and how far reading it has come."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.trade_stats: TradeHistoryStats | None = None
        if is_trade_history(self.path):
            self.trade_stats = TradeHistoryStats()
            self.recording: Recording | None = None
            self.size = self.path.stat().st_size
        else:
            self.recording = Recording(self.path)
            self.size = self.recording.size
        self.done = False

    def read_bytes(self) -> float:
        """Bytes of the file read so far (trade CSVs count only once finished)."""
        if self.done:
            return float(self.size)
        if self.recording is not None:
            return self.recording.progress() * self.size
        return 0.0

    def __iter__(self) -> Iterator[TimedFrame]:
        if self.recording is None:
            assert self.trade_stats is not None
            yield from read_trade_history(self.path, self.trade_stats)
        else:
            last = 0
            search = TIME_FIELD.search
            for block in self.recording.blocks():
                for frame in block:
                    # The frame's exchange time ("ts", ms), read without decoding it; a
                    # frame without one keeps the time of the frame before.
                    found = search(frame)
                    if found is not None:
                        last = int(found.group(1))
                    yield last, frame
        self.done = True


class ReplayPace:
    """How a watched replay plays: x`speed` of recorded time against `clock`, paused, stepped.

    `wait(ts)` is awaited before each frame. Changing the speed, or resuming, restarts the
    pacing from the next frame, so nothing is played in a burst to catch up."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        min_speed: float = 1.0,
        max_speed: float = 100.0,
        step_ms: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.min_speed = min_speed
        self.max_speed = max_speed
        self.speed = self._clamp(speed)
        self.step_ms = step_ms
        self.paused = False
        self.ended = False
        self._clock = clock
        self._sleep = sleep
        self._anchor: tuple[float, int] | None = None
        self._step_until: int | None = None
        self._step_asked = False
        self._last_ts: int | None = None
        self._changed = asyncio.Event()

    def _clamp(self, speed: float) -> float:
        return min(self.max_speed, max(self.min_speed, speed))

    def _change(self) -> None:
        self._anchor = None
        self._changed.set()

    def set_speed(self, speed: float) -> None:
        self.speed = self._clamp(speed)
        self._change()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self._step_until = None
        self._step_asked = False
        self._change()

    def step(self) -> None:
        """While paused: play the next `step_ms` of recorded time at once, then pause again."""
        if self.paused:
            self._step_asked = True
            self._change()

    async def wait(self, ts: int) -> None:
        while self.paused:
            if self._step_asked:
                self._step_asked = False
                self._step_until = (ts if self._last_ts is None else self._last_ts) + self.step_ms
            if self._step_until is not None and ts <= self._step_until:
                self._last_ts = ts
                return
            self._step_until = None
            self._changed.clear()
            await self._changed.wait()
        now = self._clock()
        if self._anchor is None:
            self._anchor = (now, ts)
        wall, start = self._anchor
        delay = wall + (ts - start) / 1000 / self.speed - now
        if delay > MIN_SLEEP_S:
            await self._sleep(delay)
        self._last_ts = ts


@dataclass(slots=True)
class _Seen:
    """What discovery learnt of a symbol."""

    last_price: float = 0.0
    price_decimals: int = -1
    size_decimals: int = -1


class ReplayMarketData(MarketData):
    """Recorded frames on a virtual clock (see the module doc)."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        book_for: BookLookup,
        *,
        latency_ms: int = 50,
        change_24h: dict[str, float] | None = None,
        instruments: Iterable[Instrument] = (),
        discovery_ms: int = 60_000,
        turnover_24h: float = 1_000_000.0,
        yield_every: int = 256,
        pace: ReplayPace | None = None,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency must be 0 ms or more, not {latency_ms}")
        self.files = [ReplayFile(path) for path in paths]
        self.total_bytes = sum(f.size for f in self.files)
        self.latency_ms = latency_ms
        self.change_24h = dict(change_24h or {})
        self._given = {i.symbol: i for i in instruments}
        self._book_for = book_for
        self._discovery_ms = discovery_ms
        self._turnover = turnover_24h
        self._yield_every = max(1, yield_every)
        # Merging one file gives it back as it is, at a cost per frame.
        self._source: Iterator[TimedFrame] = (
            iter(self.files[0]) if len(self.files) == 1
            else heapq.merge(*self.files, key=itemgetter(0))
        )
        self._ahead: deque[TimedFrame] = deque()
        self._seen: dict[str, _Seen] | None = None
        self._fill: dict[str, tuple[tuple[int, int, bool, int], OrderBook]] = {}
        # The exchange's books of the watched symbols (see the module doc).
        self._exchange: dict[str, OrderBook] = {}
        self._now = 0
        self._ended = False
        self._closed = False
        self._closing = asyncio.Event()
        self.pace = pace
        self.frames = 0
        self.first_ms: int | None = None
        self.on_progress: Callable[[ReplayMarketData], None] | None = None

    # ---- time and progress

    def now_ms(self) -> int:
        """Recorded time of the latest frame replayed (the clock of the whole run)."""
        return self._now

    def read_bytes(self) -> float:
        return sum(f.read_bytes() for f in self.files)

    # ---- discovery: instruments and tickers

    def _discover(self) -> dict[str, _Seen]:
        """Read the first `discovery_ms` of recorded time ahead (kept for replay) and learn the
        symbols, their printed decimals and last prices.

        Only the frames that can teach something are decoded: a symbol's book frames until one
        gave its decimals and a mid, and its trade frames (by the symbol of their topic) from
        the last one back until one holds trades (the last trade price is the one kept)."""
        if self._seen is not None:
            return self._seen
        seen: dict[str, _Seen] = {}
        trades: dict[str, list[bytes]] = {}
        start: int | None = None
        for item in self._source:
            self._ahead.append(item)
            ts, frame = item
            if start is None and ts:
                start = ts
            if BOOK_TOPIC in frame:
                symbol = frame_symbol(frame)
                info = seen.get(symbol) if symbol is not None else None
                if info is None or info.price_decimals < 0 or not info.last_price:
                    self._learn_book(seen, frame)
            elif TRADE_TOPIC in frame and (symbol := frame_symbol(frame)) is not None:
                trades.setdefault(symbol, []).append(frame)
            else:
                self._learn_other(seen, trades, frame)
            if start is not None and ts - start > self._discovery_ms:
                break
        for frames in trades.values():
            for frame in reversed(frames):
                if self._learn_trades(seen, frame):
                    break
        self._seen = seen
        self.first_ms = start
        if start is not None:
            self._now = start
        return seen

    @staticmethod
    def _learn_book(seen: dict[str, _Seen], frame: bytes) -> None:
        try:
            message = decode_frame(frame)
        except DecodeError:
            return
        if isinstance(message, BookMessage):
            info = seen.setdefault(message.symbol, _Seen())
            if info.price_decimals < 0 and message.price_decimals >= 0:
                info.price_decimals = message.price_decimals
                info.size_decimals = message.size_decimals
            if not info.last_price and message.bids and message.asks:
                info.last_price = (message.bids[0][0] + message.asks[0][0]) / 2

    @classmethod
    def _learn_other(
        cls, seen: dict[str, _Seen], trades: dict[str, list[bytes]], frame: bytes,
    ) -> None:
        """A frame spelt otherwise than the exchange writes: decoded to know what it is."""
        try:
            message = decode_frame(frame)
        except DecodeError:
            return
        if isinstance(message, BookMessage):
            cls._learn_book(seen, frame)
        elif isinstance(message, TradeMessage):
            trades.setdefault(message.symbol, []).append(frame)

    @staticmethod
    def _learn_trades(seen: dict[str, _Seen], frame: bytes) -> bool:
        try:
            message = decode_frame(frame)
        except DecodeError:
            return False
        if isinstance(message, TradeMessage) and message.prints:
            seen.setdefault(message.symbol, _Seen()).last_price = message.prints[-1].price
            return True
        return False

    def instrument(self, symbol: str) -> Instrument | None:
        """The rules `symbol` trades under in this replay (see the module doc)."""
        given = self._given.get(symbol) or KNOWN_INSTRUMENTS.get(symbol)
        if given is not None:
            return given
        info = self._discover().get(symbol)
        if info is None or info.price_decimals < 0:
            return None
        tick = 10.0 ** -info.price_decimals
        step = 10.0 ** -max(info.size_decimals, 0)
        return Instrument(symbol, tick, step, step, DEFAULT_MIN_NOTIONAL, math.inf)

    def inferred(self) -> list[str]:
        """Symbols whose rules were inferred from the data rather than known or given."""
        return [s for s, source in self.instrument_sources().items() if source == INFERRED]

    def instrument_sources(self) -> dict[str, str]:
        """Where each listed symbol's rules come from: given (by the caller), known (Bybit's
        published rules in `KNOWN_INSTRUMENTS`) or inferred (from the data)."""
        return {
            symbol: GIVEN if symbol in self._given
            else KNOWN if symbol in KNOWN_INSTRUMENTS else INFERRED
            for symbol in sorted(self._discover())
        }

    async def instruments(self) -> list[Instrument]:
        return self.listed()

    def listed(self) -> list[Instrument]:
        """The instruments of the symbols discovery found (and so traded)."""
        found = (self.instrument(symbol) for symbol in sorted(self._discover()))
        return [i for i in found if i is not None]

    def require_data(self) -> None:
        """Raise `RecordingError` when discovery found no symbol to trade: an empty file,
        random bytes, or lines that are not Bybit v5 public messages."""
        if not self.listed():
            names = ", ".join(str(f.path) for f in self.files)
            raise RecordingError(names, (
                f"no Bybit market data: no order-book snapshot in the first "
                f"{self._discovery_ms / 1000:g} s of recorded time (an empty file, or not "
                "Bybit v5 public messages)"
            ))

    async def tickers(self) -> list[Ticker]:
        return [
            Ticker(symbol, info.last_price, self.change_24h.get(symbol, 0.0), self._turnover)
            for symbol, info in sorted(self._discover().items())
        ]

    async def klines(self, symbol: str, interval_min: int, limit: int) -> list[Kline]:
        return []

    async def subscribe(self, symbols: Sequence[str]) -> None:
        return None

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        return None

    # ---- the stream

    def _next(self) -> TimedFrame | None:
        if self._ahead:
            return self._ahead.popleft()
        return next(self._source, None)

    async def messages(self) -> AsyncIterator[bytes]:
        """Every frame once, in time order, each setting the clock before it is handed out;
        the iteration ends with the data (or `close`)."""
        self._discover()
        every = self._yield_every
        pace = self.pace
        count = 0
        while not self._closed:
            item = self._next()
            if item is None:
                break
            ts, frame = item
            if pace is not None:
                await pace.wait(ts)
            if ts > self._now:
                self._now = ts
            if self._exchange and BOOK_TOPIC in frame:
                self._to_exchange(frame)
            count += 1
            self.frames = count
            yield frame
            if count % every == 0:
                if self.on_progress is not None:
                    self.on_progress(self)
                await asyncio.sleep(0)
        if self.on_progress is not None:
            self.on_progress(self)
        if pace is not None and not self._closed:
            pace.ended = True
            await self._closing.wait()

    async def runs(self) -> AsyncIterator[Iterator[bytes]]:
        """`messages` in runs of `yield_every` frames, each run a plain iterator that sets the
        clock as it hands each frame out: a consumer pays no await per frame, and yields to the
        loop between runs exactly where `messages` does. A paced replay gives runs of one."""
        if self.pace is not None:
            async for frame in self.messages():
                yield iter((frame,))
            return
        self._discover()
        every = self._yield_every
        while not self._closed:
            start = self.frames
            yield self._run(every)
            if self._ended:
                break
            if self.frames - start == every:
                if self.on_progress is not None:
                    self.on_progress(self)
                await asyncio.sleep(0)
        if self.on_progress is not None:
            self.on_progress(self)

    def _run(self, size: int) -> Iterator[bytes]:
        ahead = self._ahead
        source = self._source
        exchange = self._exchange
        for _ in range(size):
            if self._closed:
                return
            # `_next`, inline: this runs once per frame of a backtest.
            item = ahead.popleft() if ahead else next(source, None)
            if item is None:
                self._ended = True
                return
            ts, frame = item
            if ts > self._now:
                self._now = ts
            if exchange and BOOK_TOPIC in frame:
                self._to_exchange(frame)
            self.frames += 1
            yield frame

    async def close(self) -> None:
        self._closed = True
        self._closing.set()

    # ---- the look-ahead book the paper broker fills against

    def _frames_until(self, until: int) -> Iterator[TimedFrame]:
        ahead = self._ahead
        while not ahead or ahead[-1][0] <= until:
            item = next(self._source, None)
            if item is None:
                break
            ahead.append(item)
        for item in ahead:
            if item[0] > until:
                return
            yield item

    def fill_book(self, symbol: str) -> OrderBook | None:
        """The book of `symbol` as recorded `latency_ms` after now (see the module doc)."""
        live = self._book_for(symbol)
        if live is None:
            return None
        key = (id(live), live.last_u, live.valid, self._now)
        cached = self._fill.get(symbol)
        if cached is not None and cached[0] == key:
            return cached[1]
        book = cached[1] if cached is not None else OrderBook(symbol, live.depth, math.inf)
        self._fill[symbol] = (key, book)
        if not live.valid:
            book.invalidate()
            return book
        book.copy_from(live)
        if self.latency_ms <= 0:
            return book
        needle = symbol.encode()
        for _, frame in self._frames_until(self._now + self.latency_ms):
            if BOOK_TOPIC not in frame or needle not in frame:
                continue
            try:
                message = decode_frame(frame)
            except DecodeError:
                continue
            if isinstance(message, BookMessage) and message.symbol == symbol:
                book.apply_message(message)
        return book

    # ---- the exchange's own book, for stops

    def watch(self, symbol: str) -> None:
        """Keep the exchange's book of `symbol` from now on (a position opened there)."""
        if symbol in self._exchange:
            return
        live = self._book_for(symbol)
        book = OrderBook(symbol, live.depth if live is not None else 0, math.inf)
        if live is not None and live.valid:
            book.copy_from(live)
        self._exchange[symbol] = book

    def unwatch(self, symbol: str) -> None:
        self._exchange.pop(symbol, None)

    def exchange_book(self, symbol: str) -> OrderBook | None:
        """The recording's book of a watched `symbol` as of now (see the module doc)."""
        return self._exchange.get(symbol)

    def _to_exchange(self, frame: bytes) -> None:
        symbol = frame_symbol(frame)
        book = self._exchange.get(symbol) if symbol is not None else None
        if book is None:
            return
        try:
            message = decode_frame(frame)
        except DecodeError:
            return
        if isinstance(message, BookMessage) and message.symbol == symbol:
            carry_on(book, message)


def carry_on(book: OrderBook, message: BookMessage) -> None:
    """Apply `message` to an exchange's book, which has no gap: a delta after one (or after
    a crossing) applies to the levels known, and levels on the other side that its own cross
    are stale (their deletes were lost) and dropped. A book never seeded waits for a snapshot."""
    result = book.apply_message(message)
    if result in (ApplyResult.GAP, ApplyResult.IGNORED) and (book.bids.prices or book.asks.prices):
        book.valid = True
        book.last_u = message.u - 1
        result = book.apply_message(message)
    if result is not ApplyResult.CROSSED:
        return
    fresh_bids = [price for price, size in message.bids if size > 0]
    fresh_asks = [price for price, size in message.asks if size > 0]
    stale_bids: list[tuple[float, float]] = []
    stale_asks: list[tuple[float, float]] = []
    if fresh_bids:
        top = max(fresh_bids)
        stale_asks = [(price, 0.0) for price in book.asks.prices if price <= top]
    elif fresh_asks:
        bottom = min(fresh_asks)
        stale_bids = [(price, 0.0) for price in book.bids.prices if price >= bottom]
    else:
        return
    u = book.last_u
    book.valid = True
    book.last_u = u - 1
    book.apply_message(BookMessage(
        message.symbol, message.depth, False, stale_bids, stale_asks, u, message.seq,
        message.ts, message.cts,
    ))
