"""Client-side rate limits for Bybit's REST API, so the account stays under the server's.

Token buckets per endpoint at Bybit's published per-account limits, and one bucket for the
per-IP limit (600 requests per 5 s) every request draws from. A 10006 answer blocks its
endpoint until the reset time the server sent (`X-Bapi-Limit-Reset-Timestamp`); an HTTP 403
(IP ban) stops every request for the ban period. Time is injected: `clock` in seconds, `sleep`
awaitable, so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Requests per second per account and endpoint (../shared/bybit/PROTOCOL.md).
ENDPOINT_RATES: dict[str, float] = {
    "/v5/order/create": 10.0,
    "/v5/order/cancel-all": 10.0,
    "/v5/position/list": 50.0,
    "/v5/order/realtime": 50.0,
    "/v5/order/history": 50.0,
    "/v5/account/wallet-balance": 50.0,
    "/v5/position/set-leverage": 10.0,
    "/v5/position/trading-stop": 10.0,
    "/v5/account/set-margin-mode": 5.0,
}
IP_REQUESTS = 600
IP_WINDOW_S = 5.0
# Bybit bans an IP that breaks its limit for 10 minutes or more.
BAN_S = 600.0
# Float noise of a refill: a wait computed to the token comes back a hair short of it.
EPSILON = 1e-9


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up."""

    def __init__(self, rate: float, capacity: float, clock: Clock) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._at = clock()

    def wait_s(self) -> float:
        """Take a token if there is one (0.0); else how long until there will be."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0 - EPSILON:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / self.rate


class RateLimiter:
    """Every REST request awaits `acquire(path)` first."""

    def __init__(
        self,
        rates: dict[str, float] | None = None,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._rates = ENDPOINT_RATES if rates is None else rates
        self._buckets: dict[str, TokenBucket] = {}
        # Keep a margin under the IP limit: other tools may share the address.
        self._ip = TokenBucket(IP_REQUESTS / IP_WINDOW_S * 0.9, IP_REQUESTS * 0.5, clock)
        self._blocked_until: dict[str, float] = {}
        self.banned_until = 0.0
        self.limited = 0

    async def acquire(self, path: str, max_wait_s: float = float("inf")) -> None:
        """Wait for this endpoint's turn; `Banned` while an HTTP 403 ban lasts, `Blocked` when
        a 10006 block lasts longer than `max_wait_s`."""
        if self.banned():
            raise Banned(self.banned_until)
        blocked = self._blocked_until.get(path, 0.0) - self._clock()
        if blocked > max_wait_s:
            raise Blocked(path, blocked)
        if blocked > 0:
            await self._sleep(blocked)
        bucket = self._bucket(path)
        for limit in (bucket, self._ip):
            while limit is not None and (wait := limit.wait_s()) > 0:
                await self._sleep(wait)

    def _bucket(self, path: str) -> TokenBucket | None:
        rate = self._rates.get(path)
        if rate is None:
            return None
        bucket = self._buckets.get(path)
        if bucket is None:
            bucket = self._buckets[path] = TokenBucket(rate, rate, self._clock)
        return bucket

    def block(self, path: str, reset_ms: int | None) -> float:
        """A 10006 on `path`: block it until `reset_ms` (1 s from now without a header).

        Returns the seconds to wait."""
        self.limited += 1
        now = self._clock()
        until = reset_ms / 1000 if reset_ms else now + 1.0
        until = max(until, now)
        self._blocked_until[path] = until
        return until - now

    def ban(self, seconds: float = BAN_S) -> None:
        """An HTTP 403: Bybit has banned this IP; stop all REST until the ban is over."""
        self.banned_until = self._clock() + seconds

    def banned(self) -> bool:
        return self._clock() < self.banned_until


class Banned(Exception):
    """REST is stopped after an HTTP 403 until `until` (epoch seconds)."""

    def __init__(self, until: float) -> None:
        at = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S")
        super().__init__(
            f"Bybit answered HTTP 403 (IP rate limit or region ban): REST stopped until {at} UTC"
        )
        self.until = until


class Blocked(Exception):
    """An endpoint is rate limited (10006) for longer than the caller will wait."""

    def __init__(self, path: str, seconds: float) -> None:
        super().__init__(f"{path}: rate limit (10006) resets in {seconds:.1f} s")
        self.seconds = seconds
