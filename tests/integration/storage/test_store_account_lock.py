"""The account lock lives with the store: one holder per venue and database, whoever names it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from densitytui.config import StorageSection
from densitytui.engine.lock import AccountLocked
from densitytui.storage import create_store, open_store


async def test_a_second_store_on_the_same_database_and_venue_is_refused(
    storage: StorageSection,
) -> None:
    first = await open_store(storage)
    second = await open_store(storage)
    try:
        await first.lock_account("sim")
        with pytest.raises(AccountLocked, match=rf"pid {os.getpid()} on .*venue sim|"
                                                rf"venue sim on .*pid {os.getpid()}"):
            await second.lock_account("sim")
        await second.lock_account("testnet")  # another account in the same store
    finally:
        await first.close()
    await second.lock_account("sim")  # free once its holder closed
    await second.close()


async def test_relative_absolute_and_linked_paths_name_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "run")
    monkeypatch.chdir(tmp_path / "run")
    holder = create_store(StorageSection(url="sqlite:///trading.db"))
    await holder.lock_account("sim")
    try:
        for url in (f"sqlite:///{tmp_path}/run/trading.db", f"sqlite:///{tmp_path}/link/trading.db",
                    "sqlite:///../run/./trading.db"):
            other = create_store(StorageSection(url=url))
            with pytest.raises(AccountLocked, match="already trades venue sim"):
                await other.lock_account("sim")
            await other.close()
    finally:
        await holder.close()
