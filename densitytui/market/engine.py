"""The market engine: raw Bybit public frames in; books, densities, tape and tickers out.

One engine serves every symbol of a venue (live streams, the simulated market or a replay):
`on_frame(raw)` decodes a frame, updates that symbol's book, density tracker and tape, and
returns the density lifecycle events it caused. A malformed frame is counted in `stats` under
its kind and skipped whole (a skipped book delta then shows as a gap at the next one); a
malformed trade inside a good frame is counted in `stats.malformed_trades` and skipped alone.

A book is invalid after a sequence gap, a long run of stale deltas, or a message that left it
crossed (`book.py`). Its densities are then frozen, and its symbol waits in `resync_requests`
for whoever owns the connection to resubscribe: only the stream's own next snapshot heals it.
Every book is invalid likewise when its stream connects again (`reconnected`).
A REST order book cannot: its `u` is not the counter of the `orderbook.{depth}` stream, and a
deeper REST book would leave levels that never get their deletes.

Block trades and RPI trades consumed no visible level: they reach neither the density tracker
(eaten) nor the tape (aggression, velocity); `stats.off_book_trades` counts them.

Strategy numbers are read once per symbol from `config.strategy(symbol)` into plain objects;
nothing here touches pydantic per message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from densitytui.market.book import ApplyResult, OrderBook
from densitytui.market.decode import (
    KIND_BOOK,
    KIND_CONTROL,
    KIND_INVALID,
    KIND_OTHER,
    KIND_TICKER,
    KIND_TRADE,
    BookMessage,
    DecodeError,
    Message,
    TickerMessage,
    TradeMessage,
    decode_frame,
)
from densitytui.market.densities import DensityRules, DensityTracker
from densitytui.market.tape import Tape
from densitytui.market.trend import trend_of
from densitytui.model import Density, DensityEvent, Instrument, Kline, Ticker, Trend

if TYPE_CHECKING:
    from densitytui.config import Config, StrategyConfig

KINDS = (KIND_BOOK, KIND_TRADE, KIND_TICKER, KIND_CONTROL, KIND_OTHER, KIND_INVALID)
_APPLIED = ApplyResult.APPLIED
_SNAPSHOT = ApplyResult.SNAPSHOT
_GAP = ApplyResult.GAP
_STALE = ApplyResult.STALE
_CROSSED = ApplyResult.CROSSED
_NO_EVENTS: tuple[DensityEvent, ...] = ()


class EngineStats:
    """Counters a status bar or a scan summary shows."""

    __slots__ = (
        "crossed", "gaps", "ignored", "malformed", "malformed_trades", "messages",
        "off_book_trades", "reconnects", "stale",
    )

    def __init__(self) -> None:
        self.messages = dict.fromkeys(KINDS, 0)
        self.malformed = dict.fromkeys(KINDS, 0)
        # Deltas that broke the `u` sequence (or ended a long stale run), arrived stale, or came
        # while waiting for a snapshot; book messages that left the book crossed.
        self.gaps = 0
        self.stale = 0
        self.ignored = 0
        self.crossed = 0
        # Trades skipped inside otherwise good frames; block and RPI trades kept off the book.
        self.malformed_trades = 0
        self.off_book_trades = 0
        # Times the stream carrying these books connected again (`reconnected`).
        self.reconnects = 0

    @property
    def total_messages(self) -> int:
        """Every frame seen, malformed ones included."""
        return sum(self.messages.values()) + sum(self.malformed.values())

    @property
    def total_malformed(self) -> int:
        return sum(self.malformed.values())


class SymbolMarket:
    """Everything the engine keeps for one symbol."""

    __slots__ = ("book", "densities", "strategy", "tape", "trend_cache")

    def __init__(
        self,
        symbol: str,
        strategy: StrategyConfig,
        events: list[DensityEvent],
        depth: int,
        tick: float | None,
        turnover_24h: float,
    ) -> None:
        self.strategy = strategy
        self.book = OrderBook(symbol, depth)
        rules = DensityRules.from_config(strategy.density, strategy.signals)
        self.densities = DensityTracker(self.book, rules, events, tick, turnover_24h)
        self.tape = Tape(strategy.tape)
        # The last trend judged and the book state and 24 h change it was judged on.
        self.trend_cache: tuple[tuple[int, int, bool, float], Trend] | None = None


class MarketEngine:
    """Books, densities, tape and tickers of every symbol fed to it (see the module doc)."""

    def __init__(self, config: Config, change_24h: Mapping[str, float] | None = None) -> None:
        self.config = config
        self.stats = EngineStats()
        self._counts = self.stats.messages
        self._markets: dict[str, SymbolMarket] = {}
        self._tickers: dict[str, Ticker] = {}
        self._ticks: dict[str, float] = {}
        self._klines: dict[str, list[Kline]] = {}
        self._change_24h = dict(change_24h or {})
        self._resync: dict[str, None] = {}
        self._events: list[DensityEvent] = []

    # ---- input ---------------------------------------------------------------------------

    def on_frame(self, raw: bytes | str) -> Sequence[DensityEvent]:
        """Decode and apply one public frame; the density events it caused, in order."""
        try:
            message = decode_frame(raw)
        except DecodeError as exc:
            self.stats.malformed[exc.kind] += 1
            return _NO_EVENTS
        return self.on_message(message)

    def on_message(self, message: Message) -> Sequence[DensityEvent]:
        """Apply one decoded message (for callers that also read the message themselves)."""
        kind = type(message)
        if kind is TradeMessage:
            market = self._markets.get(message.symbol) or self._market(message.symbol)
            prints = message.prints
            if prints:
                market.tape.on_prints(prints)
                market.densities.on_prints(prints, message.ts)
            if message.off_book:
                self.stats.off_book_trades += len(message.off_book)
            if message.skipped:
                self.stats.malformed_trades += message.skipped
        elif kind is BookMessage:
            market = self._markets.get(message.symbol) or self._market(
                message.symbol, message.depth,
            )
            result = market.book.apply_message(message)
            if result is _APPLIED:
                market.densities.on_book(message.ts, message.cts)
            else:
                self._book_result(market, message, result)
        elif kind is TickerMessage:
            self._on_ticker(message)
        self._counts[message.kind] += 1
        events = self._events
        if not events:
            return _NO_EVENTS
        out = events[:]
        events.clear()
        return out

    def _market(self, symbol: str, depth: int = 0) -> SymbolMarket:
        market = self._markets.get(symbol)
        if market is None:
            ticker = self._tickers.get(symbol)
            market = SymbolMarket(
                symbol, self.config.strategy(symbol), self._events, depth,
                self._ticks.get(symbol), ticker.turnover_24h if ticker else 0.0,
            )
            klines = self._klines.pop(symbol, None)
            if klines:
                market.tape.seed_klines(klines)
            self._markets[symbol] = market
        return market

    def _book_result(
        self, market: SymbolMarket, message: BookMessage, result: ApplyResult,
    ) -> None:
        """What follows a book message other than a delta in sequence."""
        book = market.book
        if result is _SNAPSHOT:
            self._resync.pop(message.symbol, None)
            if message.depth and message.depth != book.depth:
                book.depth = message.depth
            densities = market.densities
            densities.on_book(message.ts, message.cts, snapshot=True)
            if densities.frozen:
                densities.set_frozen(False, message.ts)
        elif result is _GAP:
            self.stats.gaps += 1
            self._invalid(market, message.ts)
        elif result is _CROSSED:
            self.stats.crossed += 1
            self._invalid(market, message.ts)
        elif result is _STALE:
            self.stats.stale += 1
        else:
            self.stats.ignored += 1

    def _invalid(self, market: SymbolMarket, ts: int) -> None:
        """The book stopped following its stream: freeze its densities, ask for a resync."""
        market.densities.set_frozen(True, ts)
        self._resync[market.book.symbol] = None

    def invalidate(self, symbol: str, ts: int) -> None:
        """The connection carrying `symbol` was lost: its book is invalid until the snapshot
        that follows resubscribing."""
        market = self._markets.get(symbol)
        if market is not None:
            market.book.invalidate()
            self._invalid(market, ts)

    def reconnected(self, ts: int) -> None:
        """The stream connected again and subscribes every topic anew: each book is invalid,
        its densities frozen, until the snapshot its new subscription sends. Until then a
        trade of the new connection must not meet a book from before the drop. No resync is
        asked: subscribing again is the resync."""
        self.stats.reconnects += 1
        for market in self._markets.values():
            market.book.invalidate()
            market.densities.set_frozen(True, ts)

    def _on_ticker(self, message: TickerMessage) -> None:
        ticker = message.apply_to(self._tickers.get(message.symbol))
        self._tickers[message.symbol] = ticker
        market = self._markets.get(message.symbol)
        if market is not None and market.densities.rules.auto_fraction > 0.0:
            market.densities.set_turnover(ticker.turnover_24h, message.ts)

    def finish(self) -> Sequence[DensityEvent]:
        """End of input (a replay's last frame): densities waiting for late trades get their
        outcome now; those still live stay live."""
        for market in self._markets.values():
            market.densities.finish()
        out = self._events[:]
        self._events.clear()
        return out

    # ---- what the venue knows besides the streams ------------------------------------------

    def set_instrument(self, instrument: Instrument) -> None:
        """Use the instrument's tick size to tell which levels stand on neighbouring ticks."""
        self._ticks[instrument.symbol] = instrument.tick_size
        market = self._markets.get(instrument.symbol)
        if market is not None:
            market.densities.set_tick(instrument.tick_size)

    def seed_klines(self, symbol: str, klines: Iterable[Kline]) -> None:
        """Seed local highs and lows from candles (REST klines) before or after trades begin."""
        market = self._markets.get(symbol)
        if market is None:
            self._klines.setdefault(symbol, []).extend(klines)
        else:
            market.tape.seed_klines(klines)

    def forget(self, symbol: str) -> None:
        """Drop everything about a symbol (unsubscribed); its densities vanish without events."""
        self._markets.pop(symbol, None)
        self._resync.pop(symbol, None)
        self._klines.pop(symbol, None)

    # ---- queries -------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return list(self._markets)

    def book(self, symbol: str) -> OrderBook | None:
        market = self._markets.get(symbol)
        return market.book if market else None

    def book_valid(self, symbol: str) -> bool:
        """The symbol has a book that follows its stream: no gap, not crossed, not waiting."""
        market = self._markets.get(symbol)
        return market is not None and market.book.valid

    def tracker(self, symbol: str) -> DensityTracker | None:
        market = self._markets.get(symbol)
        return market.densities if market else None

    def densities(self, symbol: str) -> list[Density]:
        """Live densities of `symbol` (the tracker's objects: `copy()` one to keep it)."""
        market = self._markets.get(symbol)
        return market.densities.densities() if market else []

    def tape(self, symbol: str) -> Tape | None:
        market = self._markets.get(symbol)
        return market.tape if market else None

    def ticker(self, symbol: str) -> Ticker | None:
        return self._tickers.get(symbol)

    def change_24h(self, symbol: str) -> float | None:
        """The 24 h change in %: an explicit value given to the engine, else the ticker's."""
        explicit = self._change_24h.get(symbol)
        if explicit is not None:
            return explicit
        ticker = self._tickers.get(symbol)
        return ticker.change_24h_pct if ticker else None

    def trend(self, symbol: str, change_24h: float | None = None) -> Trend:
        """DESIGN §3 trend; FLAT without a book or without any 24 h change.

        The book's pressure only changes with book messages, and callers ask on every trade: the
        answer is kept until the book's state (`last_u`, `ts`, validity) or the change moves."""
        market = self._markets.get(symbol)
        if market is None:
            return Trend.FLAT
        change = change_24h if change_24h is not None else self.change_24h(symbol)
        if change is None:
            return Trend.FLAT
        book = market.book
        key = (book.last_u, book.ts, book.valid, change)
        cached = market.trend_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        trend = trend_of(book, change, market.strategy.trend)
        market.trend_cache = (key, trend)
        return trend

    @property
    def resync_requests(self) -> list[str]:
        """Symbols whose book needs a fresh snapshot, oldest first."""
        return list(self._resync)

    def take_resync_requests(self) -> list[str]:
        """The symbols to resubscribe now; they are asked again only after a new gap."""
        symbols = list(self._resync)
        self._resync.clear()
        return symbols
