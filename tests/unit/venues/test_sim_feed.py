"""`SimMarketData` paces virtual time by the speed factor, on an injected clock."""

from __future__ import annotations

import pytest

from densitytui.venues.base import ExchangeError
from densitytui.venues.sim import SimMarket, SimMarketData


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def _run(speed: float, virtual_ms: int) -> tuple[FakeTime, int, SimMarketData]:
    fake = FakeTime()
    feed = SimMarketData(SimMarket(1, ["LTCUSDT"]), speed=speed, clock=fake.clock,
                         sleep=fake.sleep)
    await feed.subscribe(["LTCUSDT"])
    start = feed.now_ms()
    frames = 0
    async for _ in feed.messages():
        frames += 1
        if feed.now_ms() - start >= virtual_ms:
            break
    return fake, frames, feed


@pytest.mark.parametrize("speed", [1.0, 4.0, 20.0])
async def test_virtual_time_runs_speed_times_faster_than_the_clock(speed: float) -> None:
    fake, frames, _ = await _run(speed, 3_000)
    assert frames > 100
    assert fake.now - 100.0 == pytest.approx(3.0 / speed, abs=0.021)


async def test_speed_zero_never_waits() -> None:
    fake, frames, _ = await _run(0.0, 3_000)
    assert frames > 100
    assert fake.sleeps and set(fake.sleeps) == {0}


async def test_close_ends_the_stream() -> None:
    fake = FakeTime()
    feed = SimMarketData(SimMarket(1, ["LTCUSDT"]), speed=0, clock=fake.clock, sleep=fake.sleep)
    await feed.subscribe(["LTCUSDT"])
    seen = 0
    closed_at = 0
    async for _ in feed.messages():
        seen += 1
        if seen == 10:
            await feed.close()
            closed_at = feed.now_ms()
    assert seen >= 10
    assert feed.now_ms() == closed_at


async def test_public_data_and_errors() -> None:
    feed = SimMarketData(SimMarket(1, ["LTCUSDT", "SUIUSDT"]), speed=0)
    assert [i.symbol for i in await feed.instruments()] == ["LTCUSDT", "SUIUSDT"]
    assert [t.symbol for t in await feed.tickers()] == ["LTCUSDT", "SUIUSDT"]
    assert len(await feed.klines("SUIUSDT", 15, 8)) == 8
    with pytest.raises(ExchangeError, match="BTCUSDT") as failure:
        await feed.klines("BTCUSDT", 1, 1)
    assert failure.value.ret_code == 10001
    with pytest.raises(ExchangeError, match="handler not found"):
        await feed.subscribe(["LTCUSDT", "BTCUSDT"])
    assert feed.market.subscribed == []
    await feed.unsubscribe(["LTCUSDT"])
    with pytest.raises(ValueError, match="speed"):
        SimMarketData(SimMarket(1, ["LTCUSDT"]), speed=-1)
