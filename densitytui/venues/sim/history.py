"""One-minute candles of a simulated symbol: a generated day before the start, then live bars.

The day before the start is a Brownian bridge in log price from the price 24 h ago to the start
price, so klines, the 24 h high and low and the 24 h change in the tickers all agree. Live bars are
built from the simulator's own trades.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from random import Random

from densitytui.model import Kline

MINUTE_MS = 60_000
DAY_MINUTES = 1440


class MinuteBars:
    """Bars as mutable lists [start, open, high, low, close, volume], oldest first."""

    __slots__ = ("_bars", "_minute", "_stats")

    def __init__(
        self,
        rng: Random,
        start_ms: int,
        price_24h_ago: float,
        price_now: float,
        sigma_per_minute: float,
        volume_per_minute: float,
        tick: float,
    ) -> None:
        first = start_ms // MINUTE_MS * MINUTE_MS - DAY_MINUTES * MINUTE_MS
        walk = [0.0]
        for _ in range(DAY_MINUTES):
            walk.append(walk[-1] + rng.gauss(0.0, sigma_per_minute))
        log_open = math.log(price_24h_ago)
        log_span = math.log(price_now) - log_open
        end = walk[-1]
        path = [
            math.exp(log_open + (i / DAY_MINUTES) * log_span + walk[i] - (i / DAY_MINUTES) * end)
            for i in range(DAY_MINUTES + 1)
        ]

        def on_tick(price: float) -> float:
            return round(price / tick) * tick

        self._bars: list[list[float]] = []
        for i in range(DAY_MINUTES):
            open_, close = on_tick(path[i]), on_tick(path[i + 1])
            upper = abs(rng.gauss(0.0, sigma_per_minute * 0.5))
            lower = abs(rng.gauss(0.0, sigma_per_minute * 0.5))
            high = on_tick(max(open_, close) * math.exp(upper))
            low = on_tick(min(open_, close) * math.exp(-lower))
            volume = volume_per_minute * rng.lognormvariate(0.0, 0.5)
            self._bars.append([float(first + i * MINUTE_MS), open_, high, low, close, volume])
        self._minute = -1
        self._stats = (0.0, 0.0, 0.0, 0.0)

    def on_trade(self, ts: int, price: float, qty: float) -> None:
        start = float(ts // MINUTE_MS * MINUTE_MS)
        bar = self._bars[-1]
        if bar[0] == start:
            if price > bar[2]:
                bar[2] = price
            elif price < bar[3]:
                bar[3] = price
            bar[4] = price
            bar[5] += qty
        else:
            self._bars.append([start, price, price, price, price, qty])

    def _open_at(self, ms: int) -> float:
        """Open of the bar that covers `ms` (the oldest bar's open before the first)."""
        bars = self._bars
        i = bisect_right(bars, ms, key=_start) - 1
        return bars[max(i, 0)][1]

    def day_stats(self, now_ms: int) -> tuple[float, float, float, float]:
        """High, low, price 24 h ago and price 1 h ago; recomputed once a minute."""
        minute = now_ms // MINUTE_MS
        if minute != self._minute:
            bars = self._bars
            since = now_ms - DAY_MINUTES * MINUTE_MS
            first = bisect_right(bars, since - MINUTE_MS, key=_start)
            day = bars[first:]
            self._stats = (
                max(bar[2] for bar in day),
                min(bar[3] for bar in day),
                self._open_at(since),
                self._open_at(now_ms - 60 * MINUTE_MS),
            )
            self._minute = minute
        high, low, open_24h, open_1h = self._stats
        bar = self._bars[-1]
        return max(high, bar[2]), min(low, bar[3]), open_24h, open_1h

    def klines(self, interval_min: int, limit: int, now_ms: int) -> list[Kline]:
        """The last `limit` candles of `interval_min` minutes up to `now_ms`, oldest first."""
        span = interval_min * MINUTE_MS
        out: list[Kline] = []
        for start, open_, high, low, close, volume in self._bars:
            if start > now_ms:
                break
            bucket = int(start) // span * span
            if out and out[-1].start == bucket:
                last = out[-1]
                out[-1] = Kline(
                    bucket, last.open, max(last.high, high), min(last.low, low), close,
                    last.volume + volume,
                )
            else:
                out.append(Kline(bucket, open_, high, low, close, volume))
        return out[-limit:] if limit > 0 else []


def _start(bar: list[float]) -> float:
    return bar[0]
