"""A dropped public stream, through the engine on the Bybit venue (the local fake): when the
stream connects again, every book is invalid before the first frame of the new connection is
applied, and each heals from its new subscription's snapshot; nothing is resubscribed twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from bybit_engine_rig import engine_on_fake
from venue_helpers import KEY, SECRET, eventually

from densitytui.model import AppEvent


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)


async def test_a_reconnect_rebuilds_every_book_from_its_new_snapshot(tmp_path: Path) -> None:
    async with engine_on_fake(tmp_path, mode="manual") as run:
        market = run.engine.market
        await eventually(
            lambda: len(market.symbols) >= 3 and all(market.book_valid(s) for s in market.symbols),
            "every watched book valid",
        )
        watched = market.symbols
        # What the books were when the engine said the stream came back, before any frame of
        # the new connection was applied.
        at_reconnect: list[list[bool]] = []

        def listen(event: AppEvent) -> None:
            if event.kind == "reconnected":
                at_reconnect.append([market.book_valid(s) for s in watched])

        run.engine.listeners.append(listen)
        assert run.fake.drop_public() == 1
        await eventually(lambda: bool(at_reconnect), "the reconnect event")
        assert at_reconnect == [[False] * len(watched)]
        assert market.stats.reconnects == 1
        await eventually(
            lambda: all(market.book_valid(s) for s in watched), "books healed by snapshots",
        )
        # Healing took no resubscription: the new connection's subscription was enough.
        assert run.engine.venue.market.resyncs == 0  # type: ignore[attr-defined]
        assert market.stats.gaps == 0
