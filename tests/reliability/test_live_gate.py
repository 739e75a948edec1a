"""Venue `live` (real money on mainnet) starts only with `--i-understand-live` and the word LIVE
typed at the prompt; anything else exits 2 before a database, a log or a request exists.

Mainnet's endpoints point at a local fake Bybit, so the one start that passes the gate trades
nothing real, and the fake shows whether any request left before the gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from engine_process import SYMBOLS, Desk, run_headless
from fake_bybit import FakeBybit

KEY = "live-gate-key"
SECRET = "live-gate-secret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with FakeBybit(SYMBOLS[:2], api_key=KEY, api_secret=SECRET) as exchange:
        yield exchange


def _desk(tmp_path: Path, fake: FakeBybit) -> tuple[Desk, dict[str, str]]:
    desk = Desk(tmp_path)
    desk.write_config(fake, venue="live", mode="manual")
    return desk, desk.env(BYBIT_API_KEY=KEY, BYBIT_API_SECRET=SECRET)


def _nothing_started(desk: Desk, fake: FakeBybit) -> None:
    assert not desk.db.exists() and not desk.log.exists()
    assert fake.requests == [] and fake.public_connections == 0


@pytest.mark.parametrize("command", [["run", "--headless"], []], ids=["headless", "app"])
async def test_live_without_the_flag_is_refused(
    tmp_path: Path, fake: FakeBybit, command: list[str],
) -> None:
    desk, env = _desk(tmp_path, fake)
    done = await run_headless(desk, env, *command, typed="LIVE\n")
    assert done.returncode == 2, done
    assert "--i-understand-live" in done.stderr and len(done.stderr.splitlines()) == 1
    assert "Type LIVE" not in done.stdout
    _nothing_started(desk, fake)


@pytest.mark.parametrize("typed", ["live\n", ""], ids=["lowercase", "stdin-closed"])
async def test_live_with_the_flag_needs_the_typed_word(
    tmp_path: Path, fake: FakeBybit, typed: str,
) -> None:
    desk, env = _desk(tmp_path, fake)
    done = await run_headless(desk, env, "run", "--headless", "--i-understand-live", typed=typed)
    assert done.returncode == 2, done
    assert "Type LIVE to start" in done.stdout
    assert done.stderr.strip() == "densitytui: not confirmed; nothing started", done.stderr
    _nothing_started(desk, fake)


async def test_live_with_the_flag_and_the_word_starts(tmp_path: Path, fake: FakeBybit) -> None:
    desk, env = _desk(tmp_path, fake)
    done = await run_headless(
        desk, env, "run", "--headless", "--i-understand-live", "--duration", "1", typed="LIVE\n",
    )
    assert done.returncode == 0, done.stderr
    assert "engine on live in manual mode" in done.stdout
    assert fake.requests and desk.db.exists()
