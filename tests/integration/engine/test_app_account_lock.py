"""The app's own start path takes the account lock: a lock taken between the pre-start check
and the engine's build leaves the app without an engine, saying why; the app's engine holds the
lock until the app closes its store."""

from __future__ import annotations

from pathlib import Path

import pytest

from densitytui.commands.run_app import account_taken, locked_engine_factory
from densitytui.config import StorageSection, parse_config
from densitytui.engine.lock import AccountLocked
from densitytui.engine.runner import EngineOptions
from densitytui.storage import create_store
from densitytui.ui.app import DensityApp


async def test_the_app_builds_no_engine_on_a_locked_account_and_holds_a_free_one(
    tmp_path: Path,
) -> None:
    config = parse_config({"storage": {"url": f"sqlite:///{tmp_path / 'app.db'}"},
                           "sim": {"symbols": ["XRPUSDT"], "speed": 0.0}})
    holder = create_store(config.storage)
    await holder.lock_account("sim")
    assert "already trades venue sim" in (await account_taken(config) or "")
    app = DensityApp(config, engine_factory=locked_engine_factory(config, EngineOptions()))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.engine is None
        assert any("Engine not started: another densitytui engine" in n.message
                   for n in app._notifications)
    await holder.close()
    assert await account_taken(config) is None

    app = DensityApp(config, engine_factory=locked_engine_factory(config, EngineOptions()))
    async with app.run_test() as pilot:
        for _ in range(400):  # bounds a failure only: the build takes a few pauses
            if app.engine is not None:
                break
            await pilot.pause(0.05)
        assert app.engine is not None
        other = create_store(StorageSection(url=config.storage.url))
        with pytest.raises(AccountLocked):
            await other.lock_account("sim")
        await other.close()
    assert await account_taken(config) is None
