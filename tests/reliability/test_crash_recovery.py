"""Crash recovery: the headless engine in automatic mode trades a fake Bybit and is killed with
SIGKILL at seeded points of the order lifecycle, then started again, over and over on one
database and one account. After every restart, and once more at the end, the invariants of
`invariants.py` are checked against the fake exchange's own state.

The kill is deterministic, not timed: the fake exchange itself kills the engine while it holds
the engine's request (`Faults.request_hook`), so the point is exact:

- before_send: an entry's request arrived, nothing done (the journal has it, the exchange not);
- after_send: the entry is placed and filled, its answer not sent yet;
- before_stop: the entry filled without its stop-loss (the exchange dropped it) and the
  engine's trading-stop request arrived, not applied: a naked position;
- close_all_cancel / close_all_close: during close-all (SIGUSR1 with a position open), at its
  cancel-all, or once a reduce-only close is placed and before its answer.

While a restarted engine reconciles, the fake holds order requests (answers wait, none is lost),
so the checks after its `started` line see a still account. The default run makes 10 kills;
`pytest -m chaos` makes 100.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from engine_process import (
    FAST,
    SYMBOLS,
    WAIT_S,
    Desk,
    drain,
    line_with,
    settled,
    start_headless,
)
from fake_bybit import FakeBybit
from invariants import (
    fills_kept,
    open_orders_left,
    positions_agree,
    sent_once_and_journaled,
)

KEY, SECRET = "crash-key", "crash-secret"
POINTS = ("before_send", "after_send", "before_stop", "close_all_cancel", "close_all_close")
CREATE, STOP, CANCEL_ALL = "/v5/order/create", "/v5/position/trading-stop", "/v5/order/cancel-all"
# Densities confirm after 1 s of market time: entries come within a second of a start; and a
# symbol closed by close-all may be entered again at once (no re-entry cooldown).
FAST_ENTRIES = "[density]\nmin_lifetime_s = 1.0\n[risk]\nreentry_cooldown_s = 0\n"


@dataclass
class Killer:
    """The fake exchange's request hook: SIGKILLs the engine at the armed point."""

    pid: int = 0
    point: str | None = None
    close_all_sent: bool = False
    fired: Counter[str] = field(default_factory=Counter)

    def hook(self, path: str, params: dict[str, Any], phase: str) -> bool:
        if self.point is None or not self._at(self.point, path, params, phase):
            return False
        os.kill(self.pid, signal.SIGKILL)
        self.fired[self.point] += 1
        self.point = None
        return True

    def _at(self, point: str, path: str, params: dict[str, Any], phase: str) -> bool:
        entry = path == CREATE and not params.get("reduceOnly")
        if point == "before_send":
            return entry and phase == "received"
        if point == "after_send":
            return entry and phase == "done"
        if point == "before_stop":
            return path == STOP and phase == "received"
        if point == "close_all_cancel":
            return self.close_all_sent and path == CANCEL_ALL and phase == "received"
        closing = path == CREATE and bool(params.get("reduceOnly"))
        return self.close_all_sent and closing and phase == "done"


@dataclass
class Campaign:
    fake: FakeBybit
    desk: Desk
    env: dict[str, str]
    killer: Killer
    violations: list[str] = field(default_factory=list)
    restarts: int = 0

    async def start(self) -> asyncio.subprocess.Process:
        """An engine, started, once its start-up reconciliation is done (order requests held
        meanwhile), after the invariants were checked on the still account."""
        self.fake.hold_orders()
        process = await start_headless(self.desk, self.env, "run", "--headless")
        self.killer.pid = process.pid
        await line_with(process, " started ")
        self.restarts += 1
        self.violations += [f"restart {self.restarts}: {v}" for v in await self.check()]
        self.fake.release_orders()
        return process

    async def check(self, *, settled: bool = False) -> list[str]:
        db = self.desk.db
        found = sent_once_and_journaled(self.fake, db)
        found += await positions_agree(self.fake, db, protected=True)
        if settled:
            found += [f"{link_id}: never settled" for link_id in open_orders_left(db)]
            found += await fills_kept(self.fake, db)
        return found


async def _position_open(fake: FakeBybit) -> None:
    async def wait() -> None:
        while not await fake.broker.positions():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(wait(), WAIT_S)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET, speed=FAST) as exchange:
        yield exchange


async def _campaign(tmp_path: Path, fake: FakeBybit, kills: int, seed: int) -> Campaign:
    desk = Desk(tmp_path)
    desk.write_config(fake, mode="auto", extra=FAST_ENTRIES)
    killer = Killer()
    fake.faults.request_hook = killer.hook
    run = Campaign(fake, desk, desk.env(BYBIT_API_KEY=KEY, BYBIT_API_SECRET=SECRET), killer)
    rng = random.Random(seed)
    # Every point once in a seeded order, then seeded draws.
    points = rng.sample(POINTS, len(POINTS)) + [rng.choice(POINTS) for _ in range(kills)]
    process = await run.start()
    try:
        for point in points[:kills]:
            reader = asyncio.create_task(drain(process))
            fake.faults.drop_attached_stop_loss = point == "before_stop"
            killer.close_all_sent = False
            killer.point = point
            if point.startswith("close_all"):
                await _position_open(fake)
                killer.close_all_sent = True
                process.send_signal(signal.SIGUSR1)
            status = await asyncio.wait_for(process.wait(), WAIT_S)
            await reader
            assert status == -signal.SIGKILL, f"the engine exited {status} before {point}"
            fake.faults.drop_attached_stop_loss = False
            process = await run.start()
        # The last engine settles every order of the runs it follows, then stops cleanly.
        reader = asyncio.create_task(drain(process))
        fake.hold_orders()
        await settled(run.desk.db)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), WAIT_S) == 0
        await reader
        run.violations += [f"at the end: {v}" for v in await run.check(settled=True)]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        fake.release_orders()
    return run


def _assert_clean(run: Campaign, kills: int) -> None:
    fired = dict(run.killer.fired)
    print(f"crash recovery: {kills} kills {fired}, {run.restarts} restarts, "
          f"{len(run.fake.orders_received)} orders, {len(run.violations)} violations")
    assert sum(fired.values()) == kills
    assert run.violations == []


async def test_sigkill_anywhere_in_the_order_lifecycle_loses_nothing(
    tmp_path: Path, fake: FakeBybit,
) -> None:
    run = await _campaign(tmp_path, fake, kills=10, seed=21)
    _assert_clean(run, 10)


@pytest.mark.chaos
async def test_a_hundred_sigkills_lose_nothing(tmp_path: Path, fake: FakeBybit) -> None:
    run = await _campaign(tmp_path, fake, kills=100, seed=2100)
    _assert_clean(run, 100)
