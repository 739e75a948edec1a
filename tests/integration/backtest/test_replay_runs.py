"""`ReplayMarketData.runs`: the frames of `messages`, in runs, with the same clock and the same
progress reports at the same frames."""

from __future__ import annotations

import asyncio
from pathlib import Path

from densitytui.venues.replay import ReplayMarketData


def _replay(path: Path, every: int, seen: list[tuple[str, int]]) -> ReplayMarketData:
    replay = ReplayMarketData([path], lambda _: None, yield_every=every)
    replay.on_progress = lambda r: seen.append(("progress", r.frames))
    return replay


async def _by_message(path: Path, every: int, stop_at: int | None) -> list[tuple[object, ...]]:
    seen: list[tuple[str, int]] = []
    replay = _replay(path, every, seen)
    out: list[tuple[object, ...]] = []
    async for frame in replay.messages():
        out.append((frame, replay.now_ms(), replay.frames, len(seen)))
        if stop_at is not None and len(out) == stop_at:
            await replay.close()
    return [*out, *seen]


async def _by_run(path: Path, every: int, stop_at: int | None) -> list[tuple[object, ...]]:
    seen: list[tuple[str, int]] = []
    replay = _replay(path, every, seen)
    out: list[tuple[object, ...]] = []
    async for run in replay.runs():
        for frame in run:
            out.append((frame, replay.now_ms(), replay.frames, len(seen)))
            if stop_at is not None and len(out) == stop_at:
                await replay.close()
    return [*out, *seen]


def test_runs_hand_out_what_messages_do(btc_file: Path, xrp_file: Path) -> None:
    for path, every, stop_at in (
        (btc_file, 256, None), (xrp_file, 7, None), (xrp_file, 10, None), (xrp_file, 1, None),
        (xrp_file, 7, 20), (xrp_file, 7, 21),
    ):
        by_message = asyncio.run(_by_message(path, every, stop_at))
        assert asyncio.run(_by_run(path, every, stop_at)) == by_message, (path, every, stop_at)
