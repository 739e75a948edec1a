"""`ReplayPace`: recorded time against a (fake) wall clock, speed changes, pause and step."""

from __future__ import annotations

import asyncio

import pytest

from densitytui.venues.replay import ReplayPace


class FakeClock:
    """Wall time that moves only when slept on; records every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_frames_come_at_speed_times_recorded_time() -> None:
    clock = FakeClock()
    pace = ReplayPace(10, clock=clock, sleep=clock.sleep)

    async def play() -> None:
        for ts in (0, 1000, 3000):
            await pace.wait(ts)
        pace.set_speed(100)
        await pace.wait(4000)  # the new speed starts from here: no wait
        await pace.wait(5000)

    asyncio.run(play())
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.01])


def test_speed_is_clamped() -> None:
    pace = ReplayPace(500, max_speed=100)
    assert pace.speed == 100
    pace.set_speed(0.25)
    assert pace.speed == 1


def test_paused_frames_wait_and_a_step_plays_one_second() -> None:
    clock = FakeClock()
    pace = ReplayPace(1, clock=clock, sleep=clock.sleep)
    played: list[int] = []

    async def feed() -> None:
        for ts in (0, 400, 900, 1500, 2000):
            await pace.wait(ts)
            played.append(ts)

    async def scenario() -> None:
        pace.toggle_pause()
        task = asyncio.create_task(feed())
        await asyncio.sleep(0)
        assert played == []
        pace.step()
        for _ in range(5):
            await asyncio.sleep(0)
        assert played == [0, 400, 900]
        pace.toggle_pause()
        await task

    asyncio.run(scenario())
    assert played == [0, 400, 900, 1500, 2000]
    # Resuming starts the pacing again at 1500: only the 500 ms to 2000 is waited.
    assert clock.sleeps == pytest.approx([0.5])
