"""A dropped public stream, through the engine on the Bybit venue (the local fake): when the
stream connects again, every book is invalid before the first frame of the new connection is
applied, and each heals from its new subscription's snapshot; nothing is resubscribed twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_bybit import FakeBybit
from venue_helpers import KEY, SECRET, eventually

from densitytui.config import Config
from densitytui.engine.runner import open_engine
from densitytui.model import AppEvent
from densitytui.storage import open_store

SYMBOLS = ["ETHUSDT", "SOLUSDT", "XRPUSDT"]


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)


async def test_a_reconnect_rebuilds_every_book_from_its_new_snapshot(tmp_path: Path) -> None:
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET) as fake:
        config = Config.model_validate({
            "app": {"venue": "testnet", "mode": "manual"},
            "storage": {"url": f"sqlite:///{tmp_path / 'e.db'}"},
            "bybit": {
                "testnet_rest": fake.rest_url, "testnet_public_ws": fake.public_ws_url,
                "testnet_private_ws": fake.private_ws_url,
            },
        })
        store = await open_store(config.storage)
        engine = await open_engine(config, store)
        market = engine.market
        # What the books were when the engine said the stream came back, before any frame
        # of the new connection was applied.
        at_reconnect: list[list[bool]] = []

        def listen(event: AppEvent) -> None:
            if event.kind == "reconnected":
                at_reconnect.append([market.book_valid(s) for s in market.symbols])

        engine.listeners.append(listen)
        runner = None
        try:
            await engine.start()
            runner = asyncio.create_task(engine.run())
            await eventually(
                lambda: len(market.symbols) >= len(SYMBOLS)
                and all(market.book_valid(s) for s in market.symbols),
                "every watched book valid",
            )
            watched = market.symbols
            assert fake.drop_public() == 1
            await eventually(lambda: bool(at_reconnect), "the reconnect event")
            assert at_reconnect == [[False] * len(watched)]
            assert market.stats.reconnects == 1
            await eventually(
                lambda: all(market.book_valid(s) for s in watched), "books healed by snapshots",
            )
            # Healing took no resubscription: the new connection's subscription was enough.
            assert engine.venue.market.resyncs == 0  # type: ignore[attr-defined]
            assert market.stats.gaps == 0
        finally:
            await engine.stop()
            if runner is not None:
                await runner
            await engine.venue.market.close()
            await engine.exchange.close()
            await store.close()
