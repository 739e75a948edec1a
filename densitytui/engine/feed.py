"""The public stream as the engine reads it: each frame through the market engine, then the
signals and exits it can trigger.

Signals are judged on the messages that can complete them (every trade; book messages at most
every `engine.eval_interval_ms` per symbol), never on a slow poll; a judgement is skipped while
price is within reach of no density that could signal (`Reach`), since it would find nothing.
This is the hot path: plain attributes, no awaits; what needs the exchange is handed on.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from densitytui.engine.bounded import SIGNALED_DENSITIES_KEPT, RecentSet
from densitytui.market.decode import (
    BookMessage,
    DecodeError,
    TickerMessage,
    TradeMessage,
    decode_frame,
)
from densitytui.model import Density, DensityEvent, Instrument, Signal, SignalKind, Trend
from densitytui.strategy.signals import Reach, find_signals
from densitytui.venues.base import SimulatedAccount

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.engine.positions import OpenTrade
    from densitytui.market.engine import MarketEngine
    from densitytui.strategy.checks import RiskRules
    from densitytui.strategy.exits import ExitRules
    from densitytui.strategy.signals import SignalRules
    from densitytui.venues.base import Exchange

SPARKLINE_POINTS = 40


class MarketFeed:
    """Frames in; market state, paper fills, signals (to `on_signal`) and exit checks out."""

    def __init__(
        self,
        config: Config,
        market: MarketEngine,
        account: Exchange,
        *,
        receive_ms: Callable[[], int],
        instruments: dict[str, Instrument],
        trades: dict[str, OpenTrade],
        last_price: dict[str, float],
        rules_of: Callable[[str], tuple[SignalRules, ExitRules, RiskRules]],
        on_signal: Callable[[Signal, float], None],
        check_exits: Callable[[OpenTrade, int, float], None],
        keep_density_events: bool = True,
    ) -> None:
        self.market = market
        self.receive_ms = receive_ms
        self.instruments = instruments
        self.trades = trades
        self.rules_of = rules_of
        self.on_signal = on_signal
        self.check_exits = check_exits
        self.keep_density_events = keep_density_events
        self.eval_interval_ms = config.engine.eval_interval_ms
        self.exit_check_ms = config.engine.exit_check_ms
        # What the account can be fed, looked up once (isinstance is too slow for every frame).
        self.simulated = account if isinstance(account, SimulatedAccount) else None
        self.last_price = last_price
        self.prev_price: dict[str, float] = {}
        self.prices: dict[str, deque[float]] = {}
        self.last_eval: dict[str, int] = {}
        self.last_data_ms: int | None = None
        # Per symbol, the receive time of its last book message: a symbol is stale on its own
        # (DESIGN §7), and its trades do not refresh it.
        self.last_book_ms: dict[str, int] = {}
        # Per symbol, the (kind, density id) of every signal shown: one per pair.
        self.signal_keys: dict[str, RecentSet[tuple[SignalKind, int]]] = {}
        # Per symbol, the densities a signal can come from and the trend, once asked (`Reach`).
        # A trade moves price but changes no density's side, confirmation or frozen flag without
        # a density event, nor the trend (judged on the book and the 24 h change): kept until a
        # ticker message of the symbol, a reconnection or a symbol forgotten, and while the
        # tracker's `revision` is the one the reach was made at (`reach_revisions`: checked
        # after a book message or a density event); a book message drops only its trend.
        self.reaches: dict[str, Reach] = {}
        self.reach_revisions: dict[str, int] = {}
        # Density lifecycle steps waiting to be stored (in batches, by the housekeeping).
        self.density_events: list[DensityEvent] = []
        # A trade reached a paper account holding a position there (a stop may have fired; an
        # account that says how many updates it queued tells whether one did).
        self.account_touched = False

    def on_frame(self, raw: bytes) -> None:
        """One public frame: market state, paper fills, then signals and exits it can trigger."""
        started = time.perf_counter()
        try:
            message = decode_frame(raw)
        except DecodeError as exc:
            self.market.stats.malformed[exc.kind] += 1
            return
        events = self.market.on_message(message)
        if events and self.keep_density_events:
            self.density_events.extend(events)
        kind = type(message)
        if kind is TradeMessage:
            self.last_data_ms = self.receive_ms()
            if events:
                self._check_reach(message.symbol, False)
            self._on_trades(message, started)
        elif kind is BookMessage:
            symbol = message.symbol
            self.last_data_ms = self.last_book_ms[symbol] = self.receive_ms()
            self._check_reach(symbol, True)
            if symbol in self.last_price:
                now = message.ts
                if now - self.last_eval.get(symbol, 0) >= self.eval_interval_ms:
                    last = self.last_price[symbol]
                    self._evaluate(
                        symbol, now, started, last, self.prev_price.get(symbol, last),
                    )
        elif kind is TickerMessage:
            self.reaches.pop(message.symbol, None)
            mark = message.fields.get("mark_price")
            simulated = self.simulated
            if mark and simulated is not None:
                simulated.on_mark(message.symbol, mark, message.ts)
                if message.symbol in self.trades:
                    self.account_touched = True
            rate = message.fields.get("funding_rate_pct")
            if rate is not None and simulated is not None:
                simulated.on_funding_rate(message.symbol, rate, message.ts)

    def data_age(self, now: int) -> int:
        """Time since the last public message of any symbol (the connection's liveliness)."""
        return 0 if self.last_data_ms is None else max(0, now - self.last_data_ms)

    def book_age(self, symbol: str, now: int) -> int:
        """Time since `symbol`'s last book message (0 before its first: a book never seen is
        not valid, which its own check refuses)."""
        last = self.last_book_ms.get(symbol)
        return 0 if last is None else max(0, now - last)

    def forget(self, symbol: str) -> None:
        """`symbol`'s reach is made again when next asked (its instrument or watch changed)."""
        self.reaches.pop(symbol, None)

    def reconnected(self) -> None:
        self.reaches.clear()

    def _check_reach(self, symbol: str, book_moved: bool) -> None:
        """Keep `symbol`'s reach while its densities stand (the tracker's revision), without
        its trend when the book moved."""
        reach = self.reaches.get(symbol)
        if reach is None:
            return
        tracker = self.market.tracker(symbol)
        if tracker is None or tracker.revision != self.reach_revisions[symbol]:
            del self.reaches[symbol]
        elif book_moved:
            reach.trend = None

    def _on_trades(self, message: TradeMessage, started: float) -> None:
        symbol = message.symbol
        simulated = self.simulated
        if simulated is not None:
            items = message.items
            # Most frames carry one trade: a tuple is cheaper to make than a list.
            prices = (items[0].price,) if len(items) == 1 else [item.price for item in items]
            simulated.on_prices(symbol, prices)
            if symbol in self.trades:
                self.account_touched = True
        prints = message.prints
        if not prints:
            return
        last = prints[-1].price
        prev = self.last_price.get(symbol, prints[0].price)
        self.prev_price[symbol] = prev
        self.last_price[symbol] = last
        sparkline = self.prices.get(symbol)
        if sparkline is None:
            sparkline = self.prices[symbol] = deque(maxlen=SPARKLINE_POINTS)
        sparkline.append(last)
        now = message.ts
        self._evaluate(symbol, now, started, last, prev)
        trade = self.trades.get(symbol)
        if (
            trade is not None and not trade.closing
            and now - trade.last_exit_check >= self.exit_check_ms
        ):
            trade.last_exit_check = now
            self.check_exits(trade, now, last)

    def _evaluate(
        self, symbol: str, now: int, started: float, last: float, prev: float,
    ) -> None:
        """Judge `symbol` now: skipped when price is within reach of no density that could
        signal (`Reach`: the look would find nothing and ask the tape nothing)."""
        self.last_eval[symbol] = now
        reach = self.reaches.get(symbol)
        if reach is None:
            reach = self.reaches[symbol] = self._reach_of(symbol)
        trend = reach.trend
        if trend is None:
            # The trend is judged only once a density of either side is within reach.
            ask, bid = reach.near(last, prev)
            if not (ask or bid):
                return
            trend = reach.trend = self.market.trend(symbol)
            if not ((ask and trend is Trend.UP) or (bid and trend is Trend.DOWN)):
                return
        elif not reach.near_on(trend, last, prev):
            return
        self._find_signals(symbol, now, trend, reach.of(trend), last, prev, started)

    def _reach_of(self, symbol: str) -> Reach:
        tracker = self.market.tracker(symbol)
        self.reach_revisions[symbol] = tracker.revision if tracker else -1
        return Reach(tracker.densities() if tracker else [], self.rules_of(symbol)[0])

    def _find_signals(
        self, symbol: str, now: int, trend: Trend, densities: list[Density], last: float,
        prev: float, started: float,
    ) -> None:
        """Find signals on `symbol` among `densities` (those of the trend's side that can
        signal); each new one goes to `on_signal`."""
        instrument = self.instruments.get(symbol)
        tape = self.market.tape(symbol)
        assert tape is not None
        known = self.signal_keys.get(symbol)
        if known is None:
            known = self.signal_keys[symbol] = RecentSet(SIGNALED_DENSITIES_KEPT)
        found = find_signals(
            symbol, now, trend, last, prev, densities, tape,
            instrument.tick_size if instrument else 0.0, self.rules_of(symbol)[0],
            book_valid=self.market.book_valid(symbol),
            change_24h_pct=self.market.change_24h(symbol), known=known,
        )
        for signal in found:
            known.add((signal.kind, signal.density_id))
            self.on_signal(signal, started)
