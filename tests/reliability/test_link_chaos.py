"""Link chaos: a session of the headless engine in automatic mode against a fake Bybit whose link
misbehaves at seeded random moments: public and private disconnects, `u` gaps, 10006 bursts,
latency spikes on every REST answer, lost order answers and stalled public streams. The fake's
market runs ten times faster than real time, so the full session (`pytest -m chaos`) is ten
minutes of market in one of real time; the default run plays one minute of market.

Afterwards the engine is stopped, started again in manual mode (it settles every order it left
and reconciles), and the invariants of `invariants.py` are checked against the fake's own state,
plus: no entry reached the exchange while the engine's market data was stale (inside a silence
of the book and trade stream longer than `risk.stale_data_s`), nor on a symbol whose book was
invalid (a gap with no snapshot since). Both are judged on the fake's log of what it sent, with
a margin for an entry already decided when the data stopped.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_process import (
    FAST,
    SYMBOLS,
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

KEY, SECRET = "chaos-key", "chaos-secret"
KINDS = ("disconnect_public", "disconnect_private", "u_gap", "rate_limit_burst",
         "latency_spike", "lost_response", "stall")
STALE_MS = 1_000
# An entry decided just before the data stopped may arrive this much later.
MARGIN_MS = 500
CONFIG = f"""
[density]
min_lifetime_s = 1.0
[risk]
stale_data_s = {STALE_MS / 1000}
reentry_cooldown_s = 0
"""
BYBIT = "reconnect_min_s = 0.05\nreconnect_max_s = 0.5\nrate_limit_max_wait_s = 2.0"


@dataclass
class Chaos:
    fake: FakeBybit
    rng: random.Random
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.order = self.rng.sample(KINDS, len(KINDS))

    def inject(self) -> None:
        """The next fault: every kind once in a seeded order, then seeded draws."""
        done = sum(self.injected.values())
        kind = self.order[done] if done < len(KINDS) else self.rng.choice(KINDS)
        faults, now = self.fake.faults, self.fake.now_ms()
        if kind == "disconnect_public":
            self.fake.drop_public()
        elif kind == "disconnect_private":
            self.fake.drop_private()
        elif kind == "u_gap":
            faults.skip_u += self.rng.randint(1, 3)
        elif kind == "rate_limit_burst":
            faults.rate_limited_until_ms = now + self.rng.randint(300, 1500)
        elif kind == "latency_spike":
            faults.rest_delay_s = self.rng.uniform(0.2, 2.0)
            faults.rest_delay_until_ms = now + 1500
        elif kind == "lost_response":
            faults.lose_order_responses += 1
        else:
            faults.public_paused_until_ms = now + self.rng.randint(2000, 4000)
        self.injected[kind] += 1

    def calm(self) -> None:
        faults = self.fake.faults
        faults.skip_u = faults.lose_order_responses = 0
        faults.rate_limited_until_ms = faults.rest_delay_until_ms = 0
        faults.public_paused_until_ms = 0


def entries_while_blind(fake: FakeBybit) -> list[str]:
    """Entries that reached the exchange while the engine's data was stale or the symbol's
    book invalid, judged on what the fake sent."""
    found = []
    for params, at in zip(fake.orders_received, fake.orders_received_at, strict=True):
        if params.get("reduceOnly"):
            continue
        symbol, link_id = str(params["symbol"]), params.get("orderLinkId")
        for start, end in fake.silences:
            if start + STALE_MS + MARGIN_MS <= at <= end:
                found.append(f"{link_id} on {symbol} at {at}: no data since {start}")
        gaps = [t for t, s, what in fake.book_log if s == symbol and what == "gap"
                and t <= at - MARGIN_MS]
        if gaps:
            healed = [t for t, s, what in fake.book_log if s == symbol and what == "snapshot"
                      and gaps[-1] <= t <= at]
            if not healed:
                found.append(f"{link_id} on {symbol} at {at}: book gapped at {gaps[-1]}, "
                             "no snapshot since")
    return found


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET, speed=FAST) as exchange:
        exchange.silence_ms = STALE_MS
        yield exchange


async def _session(tmp_path: Path, fake: FakeBybit, market_s: float, seed: int) -> Chaos:
    desk = Desk(tmp_path)
    desk.write_config(fake, mode="auto", bybit=BYBIT, extra=CONFIG)
    env = desk.env(BYBIT_API_KEY=KEY, BYBIT_API_SECRET=SECRET)
    chaos = Chaos(fake, random.Random(seed))
    loop = asyncio.get_running_loop()
    process = await start_headless(desk, env, "run", "--headless")
    try:
        await line_with(process, " started ")
        reader = asyncio.create_task(drain(process))
        end = loop.time() + market_s / FAST
        while loop.time() < end:
            # Pacing of the faults, not a wait for a result.
            await asyncio.sleep(chaos.rng.uniform(0.3, 0.8))
            chaos.inject()
        chaos.calm()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        await reader
        # Started again in manual mode: it settles what it left, trades nothing.
        process = await start_headless(desk, env, "--mode", "manual", "run", "--headless")
        await line_with(process, " started ")
        reader = asyncio.create_task(drain(process))
        await settled(desk.db)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        await reader
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return chaos


async def _violations(fake: FakeBybit, db: Path) -> list[str]:
    found = sent_once_and_journaled(fake, db)
    found += await positions_agree(fake, db, protected=True)
    found += [f"{link_id}: never settled" for link_id in open_orders_left(db)]
    found += await fills_kept(fake, db)
    found += entries_while_blind(fake)
    return found


def _summary(chaos: Chaos, violations: list[str]) -> str:
    fake = chaos.fake
    entries = sum(1 for p in fake.orders_received if not p.get("reduceOnly"))
    return (f"link chaos: {sum(chaos.injected.values())} faults {dict(chaos.injected)}, "
            f"answers {dict(fake.answers_faulted)}, {len(fake.silences)} stale windows, "
            f"{len(fake.book_log)} book gaps and snapshots, {entries} entries, "
            f"{len(fake.orders_received)} orders, {len(violations)} violations")


async def _run(tmp_path: Path, fake: FakeBybit, market_s: float, seed: int) -> None:
    chaos = await _session(tmp_path, fake, market_s, seed)
    violations = await _violations(fake, Desk(tmp_path).db)
    print(_summary(chaos, violations))
    assert set(chaos.injected) == set(KINDS), chaos.injected
    assert fake.orders_received, "the session never traded: the invariants proved nothing"
    assert violations == []


async def test_a_minute_of_a_bad_link_loses_nothing(tmp_path: Path, fake: FakeBybit) -> None:
    await _run(tmp_path, fake, market_s=60, seed=4)


@pytest.mark.chaos
async def test_ten_minutes_of_a_bad_link_lose_nothing(tmp_path: Path, fake: FakeBybit) -> None:
    await _run(tmp_path, fake, market_s=600, seed=40)
