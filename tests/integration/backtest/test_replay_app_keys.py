"""`densitytui replay`: the app on the BTC recording, paused, stepped and sped up by its keys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from densitytui.commands.replay import replay_app
from densitytui.config import Config
from densitytui.venues.replay import ReplayPace

WALL_LIMIT_S = 60.0


async def _until(predicate: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WALL_LIMIT_S
    while not predicate():
        assert loop.time() < deadline, f"no {what} within {WALL_LIMIT_S:g} s"
        await asyncio.sleep(0.01)


def test_pause_step_and_speed_keys(btc_file: Path, tmp_path: Path) -> None:
    config = Config.model_validate({
        "app": {"venue": "replay", "mode": "auto"},
        "storage": {"url": f"sqlite:///{tmp_path / 'replay.db'}"},
        "logging": {"file": str(tmp_path / "log.jsonl")},
    })
    pace = ReplayPace(10, max_speed=100)
    pace.toggle_pause()
    app = replay_app(config, [str(btc_file)], {"BTCUSDT": 8.1}, pace)

    async def scenario() -> None:
        async with app.run_test(size=(120, 32)) as pilot:
            await _until(lambda: app.engine is not None, "engine")
            engine = app.engine
            assert engine is not None
            start = engine.clock_ms()
            await pilot.press("full_stop")
            await _until(lambda: engine.clock_ms() > start, "step")
            await pilot.pause(0.3)
            stepped = engine.clock_ms()
            await pilot.pause(0.3)
            # One second of recorded time was played, then the replay paused again.
            assert start < stepped <= start + 1000
            assert engine.clock_ms() == stepped
            assert "paused" in app.sub_title and "x10" in app.sub_title
            await pilot.press("plus")
            assert pace.speed == 20
            await pilot.press("minus", "minus")
            assert pace.speed == 5
            await pilot.press("space")
            assert not pace.paused
            await _until(lambda: engine.clock_ms() > stepped, "playing")
            await pilot.press("space")
            assert pace.paused

    asyncio.run(scenario())
