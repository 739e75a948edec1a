"""Trade windows of one symbol: velocity, taker aggression, volume spikes, local highs and lows.

Trades are only queued when they arrive and folded in batches (or when a figure is asked for),
so a message costs one list extension. Folding puts every trade in a 100 ms bucket: a few
additions; buckets roll into running window sums at most ten times a second of market time.
Window figures therefore have a resolution of 100 ms: "the last 3 s" means the 30 buckets up
to and including the one that holds `now`. Highs and lows over hours live in one-minute
buckets (at most 60 x the longest `range_hours` of them), seeded from klines when the venue
has them. Nothing older than the longest window is kept. Time is the trades' own (ms); queries
take `now` from the caller and assume it never goes backwards. A query folds the queued
trades in (the same sums whenever that happens) and expires nothing (buckets expire as later
ones close), so asking more or less often never moves a later answer.

Volumes are notional (price x size, USDT), so figures compare across symbols. Only trades
that took liquidity from the visible book come in: block trades and RPI trades are neither
aggression nor pace of the book (the engine keeps them out and counts them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from densitytui.market.decode import TradePrint
from densitytui.model import Kline, Side

if TYPE_CHECKING:
    from densitytui.config import TapeSection

_BUY = Side.BUY
BUCKET_MS = 100
MINUTE_MS = 60_000
# Trades queued before they are folded in: bounds the queue, amortises the folding.
FOLD_BATCH = 256


class _Window:
    """Running sums of (buy, sell) notional over the last `span` buckets."""

    __slots__ = ("buckets", "buy", "sell", "span")

    def __init__(self, seconds: float) -> None:
        self.span = max(1, round(seconds * 1000 / BUCKET_MS))
        self.buckets: deque[tuple[int, float, float]] = deque()
        self.buy = 0.0
        self.sell = 0.0

    def push(self, bucket: int, buy: float, sell: float) -> None:
        self.buckets.append((bucket, buy, sell))
        self.buy += buy
        self.sell += sell

    def expire(self, now_bucket: int) -> None:
        """Drop buckets that fell out of the window ending at `now_bucket` (inclusive)."""
        oldest = now_bucket - self.span
        buckets = self.buckets
        while buckets and buckets[0][0] <= oldest:
            _, buy, sell = buckets.popleft()
            self.buy -= buy
            self.sell -= sell
        if not buckets:
            # Clears the rounding residue that subtraction leaves behind.
            self.buy = 0.0
            self.sell = 0.0

    def sums(self, now_bucket: int) -> tuple[float, float]:
        """(buy, sell) over the window ending at `now_bucket`, leaving the window as it is:
        the numbers `expire` would leave (the same subtractions in the same order), so a
        question never changes a later answer."""
        buy = self.buy
        sell = self.sell
        oldest = now_bucket - self.span
        buckets = self.buckets
        if buckets and buckets[0][0] <= oldest:
            for bucket, old_buy, old_sell in buckets:
                if bucket > oldest:
                    break
                buy -= old_buy
                sell -= old_sell
            else:
                return 0.0, 0.0
        return buy, sell


class Tape:
    """Trade-derived figures of one symbol; feed it with `on_prints`, ask with `now`."""

    __slots__ = (
        "_aggression",
        "_baseline",
        "_bucket",
        "_bucket_end",
        "_buy",
        "_hi",
        "_last_price",
        "_last_ts",
        "_lo",
        "_long",
        "_minute",
        "_minute_end",
        "_minutes",
        "_queue",
        "_sell",
        "_short",
        "_trades",
        "spike_factor",
    )

    def __init__(self, tape: TapeSection) -> None:
        self._short = _Window(tape.velocity_short_s)
        self._long = _Window(tape.velocity_long_s)
        self._aggression = _Window(tape.aggression_window_s)
        self._baseline = _Window(tape.spike_baseline_s)
        self.spike_factor = tape.spike_factor
        self._bucket = -1
        self._bucket_end = -1
        self._buy = 0.0
        self._sell = 0.0
        self._minutes: deque[tuple[int, float, float]] = deque(
            maxlen=round(max(tape.range_hours) * 60) + 1
        )
        self._minute = -1
        self._minute_end = -1
        self._hi = 0.0
        self._lo = 0.0
        self._trades = 0
        self._last_price = 0.0
        self._last_ts = 0
        self._queue: list[TradePrint] = []

    def on_prints(self, prints: list[TradePrint]) -> None:
        """Take trades in time order: queued, folded in batches of FOLD_BATCH."""
        queue = self._queue
        queue += prints
        if len(queue) >= FOLD_BATCH:
            self._fold()

    @property
    def trades(self) -> int:
        """Trades seen so far."""
        return self._trades + len(self._queue)

    @property
    def last_price(self) -> float:
        return self._queue[-1].price if self._queue else self._last_price

    @property
    def last_ts(self) -> int:
        return self._queue[-1].ts if self._queue else self._last_ts

    def _fold(self) -> None:
        """Put the queued trades into buckets and minutes (a few float additions each)."""
        prints = self._queue
        if not prints:
            return
        self._queue = []
        bucket_end = self._bucket_end
        buy = self._buy
        sell = self._sell
        minute_end = self._minute_end
        hi = self._hi
        lo = self._lo
        for trade in prints:
            ts = trade.ts
            price = trade.price
            if ts >= bucket_end:
                self._close_bucket(self._bucket, buy, sell)
                self._bucket = bucket = ts // BUCKET_MS
                bucket_end = (bucket + 1) * BUCKET_MS
                buy = 0.0
                sell = 0.0
            if trade.taker is _BUY:
                buy += price * trade.size
            else:
                sell += price * trade.size
            if ts >= minute_end:
                if self._minute >= 0:
                    self._minutes.append((self._minute, hi, lo))
                self._minute = minute = ts // MINUTE_MS
                minute_end = (minute + 1) * MINUTE_MS
                hi = lo = price
            elif price > hi:
                hi = price
            elif price < lo:
                lo = price
        self._bucket_end = bucket_end
        self._buy = buy
        self._sell = sell
        self._minute_end = minute_end
        self._hi = hi
        self._lo = lo
        self._last_price = price
        self._last_ts = ts
        self._trades += len(prints)

    def _close_bucket(self, bucket: int, buy: float, sell: float) -> None:
        if bucket < 0 or (buy == 0.0 and sell == 0.0):
            return
        for window in (self._short, self._long, self._aggression, self._baseline):
            window.push(bucket, buy, sell)
            window.expire(bucket)

    def _volume(self, window: _Window, now: int) -> tuple[float, float]:
        """(buy, sell) notional in `window` ending at `now`, the open bucket included."""
        self._fold()
        now_bucket = now // BUCKET_MS
        buy, sell = window.sums(now_bucket)
        if now_bucket - window.span < self._bucket <= now_bucket:
            buy += self._buy
            sell += self._sell
        return buy, sell

    def _velocity(self, window: _Window, now: int) -> float:
        buy, sell = self._volume(window, now)
        return (buy + sell) / (window.span * BUCKET_MS / 1000)

    def velocity_short(self, now: int) -> float:
        """Traded notional per second over `velocity_short_s`."""
        return self._velocity(self._short, now)

    def velocity_long(self, now: int) -> float:
        """Traded notional per second over `velocity_long_s`."""
        return self._velocity(self._long, now)

    def taker_volume(self, now: int) -> tuple[float, float]:
        """(taker buy, taker sell) notional over the aggression window."""
        return self._volume(self._aggression, now)

    def spike(self, now: int) -> bool:
        """Short-window volume above spike_factor x its average over the baseline window."""
        buy, sell = self._volume(self._short, now)
        base_buy, base_sell = self._volume(self._baseline, now)
        share = self._short.span / self._baseline.span
        average = (base_buy + base_sell) * share
        return buy + sell > self.spike_factor * average and average > 0.0

    def local_range(self, hours: float, now: int) -> tuple[float, float] | None:
        """(low, high) of prices over the last `hours` up to `now`, or None without data."""
        return self._range(hours, now, include_current=True)

    def prior_range(self, hours: float, now: int) -> tuple[float, float] | None:
        """(low, high) over the last `hours` before the current minute: "new territory" is
        a price beyond it."""
        return self._range(hours, now, include_current=False)

    def _range(self, hours: float, now: int, include_current: bool) -> tuple[float, float] | None:
        self._fold()
        now_minute = now // MINUTE_MS
        first = now_minute - round(hours * 60)
        low = float("inf")
        high = float("-inf")
        for minute, hi, lo in reversed(self._minutes):
            if minute <= first:
                break
            if minute > now_minute:
                continue
            high = max(high, hi)
            low = min(low, lo)
        current = self._minute
        if include_current and current >= 0 and first < current <= now_minute:
            high = max(high, self._hi)
            low = min(low, self._lo)
        return (low, high) if high >= low else None

    def history_ms(self, now: int) -> int:
        """How far back the minute history reaches from `now` (0 without any): a range over
        more hours than this is unknown, not judged (REST klines or a warm-up extend it)."""
        self._fold()
        oldest = self._minutes[0][0] if self._minutes else self._minute
        if oldest < 0:
            return 0
        return max(0, now - oldest * MINUTE_MS)

    def seed_klines(self, klines: Iterable[Kline]) -> None:
        """Fill highs and lows from candles (any interval; each counts at its start minute)."""
        self._fold()
        merged: dict[int, tuple[float, float]] = {m: (hi, lo) for m, hi, lo in self._minutes}
        for kline in klines:
            minute = kline.start // MINUTE_MS
            if minute >= self._minute >= 0:
                continue
            hi, lo = merged.get(minute, (kline.high, kline.low))
            merged[minute] = (max(hi, kline.high), min(lo, kline.low))
        self._minutes.clear()
        self._minutes.extend((m, hi, lo) for m, (hi, lo) in sorted(merged.items()))
