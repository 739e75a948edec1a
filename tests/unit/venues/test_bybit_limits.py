"""Rate limits and reconnect delays of the Bybit venue, on an injected clock."""

from __future__ import annotations

import random

import pytest

from densitytui.venues.bybit.backoff import Backoff
from densitytui.venues.bybit.ratelimit import Banned, RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_its_burst_then_one_token_per_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, 10.0, clock)
    assert [bucket.wait_s() for _ in range(10)] == [0.0] * 10
    assert bucket.wait_s() == pytest.approx(0.1)
    clock.now += 0.1
    assert bucket.wait_s() == 0.0


async def test_order_endpoint_is_held_to_ten_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(30):
        await limiter.acquire("/v5/order/create")
    # 10 at once, then 20 more at 10/s.
    assert clock.now - start == pytest.approx(2.0)


async def test_10006_blocks_the_endpoint_until_the_reset_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    wait = limiter.block("/v5/position/list", int((clock.now + 1.5) * 1000))
    assert wait == pytest.approx(1.5)
    await limiter.acquire("/v5/position/list")
    assert clock.now == pytest.approx(1_001.5)
    # Other endpoints were never blocked.
    before = clock.now
    await limiter.acquire("/v5/account/wallet-balance")
    assert clock.now == before


async def test_a_ban_refuses_every_request_until_it_ends() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.ban(600.0)
    with pytest.raises(Banned, match="HTTP 403"):
        await limiter.acquire("/v5/market/tickers")
    clock.now += 600.0
    await limiter.acquire("/v5/market/tickers")


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(0.5, 4.0, random.Random(11))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    again = Backoff(0.5, 4.0, random.Random(11))
    assert [again.next_delay() for _ in range(6)] == delays  # seeded: the same delays
    backoff.reset()
    assert backoff.next_delay() <= 0.5
