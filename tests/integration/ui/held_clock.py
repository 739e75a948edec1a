"""A clock for the simulated feed that stands still until the test moves it.

The feed paces virtual time against this clock; `advance` moves it and waits until the feed
has caught up (it sleeps again), so after each step the market and the engine are at a known
virtual time, the same on every run.
"""

from __future__ import annotations

import asyncio


class HeldClock:
    def __init__(self, start_s: float = 1_000.0) -> None:
        self.now = start_s
        self._moved = asyncio.Event()
        self._idle = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        due = self.now + delay
        while self.now < due:
            self._moved.clear()
            self._idle.set()
            await self._moved.wait()
        self._idle.clear()

    async def idle(self) -> None:
        """Until the feed sleeps, waiting for the clock."""
        await self._idle.wait()

    async def advance(self, seconds: float) -> None:
        """Move the clock and wait until the feed has played that much of the market."""
        self._idle.clear()
        self.now += seconds
        self._moved.set()
        await self._idle.wait()
