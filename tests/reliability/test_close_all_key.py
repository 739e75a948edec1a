"""SIGUSR1 is the headless engine's CLOSE ALL key, from the first line it prints: a press while
it is still starting waits for the start, then closes everything (before, the signal's default
action ended the process)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from engine_process import FAST, SYMBOLS, WAIT_S, Desk, line_with, start_headless
from fake_bybit import FakeBybit

KEY, SECRET = "close-key", "close-secret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET, speed=FAST) as exchange:
        yield exchange


async def test_sigusr1_during_start_closes_all_once_started(
    tmp_path: Path, fake: FakeBybit,
) -> None:
    desk = Desk(tmp_path)
    desk.write_config(fake, mode="auto")
    process = await start_headless(desk, desk.env(BYBIT_API_KEY=KEY, BYBIT_API_SECRET=SECRET),
                                   "run", "--headless")
    try:
        # Leverage is set while the engine starts, before its `started` line.
        await line_with(process, " leverage ")
        process.send_signal(signal.SIGUSR1)
        await line_with(process, " started ")
        done = await line_with(process, " close_all_done ")
        assert "flat" in done
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), WAIT_S) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert await fake.broker.positions() == []
