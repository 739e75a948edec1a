"""The stop re-anchored to the fill is moved only once the engine can know the fill: in a
backtest the entry's answer is back `latency_ms + answer_latency_ms` after the order was sent,
and the move then takes its own way to the exchange (the paper account's request delay). Read
from the position events of a run on the real BTC recording."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_backtest_excursions import LOOSE

from densitytui.backtest.overrides import apply_overrides, parse_grid
from densitytui.backtest.run import backtest_config, replay_engine
from densitytui.config import Config
from densitytui.storage import open_store

ALL = 1_000_000


async def _events(config: Config, btc_file: Path, db: Path) -> list[tuple[int, int, str]]:
    """(opened at, event time, note) of every stop-loss event of every closed position."""
    run_config = backtest_config(config, db)
    store = await open_store(run_config.storage)
    engine = await replay_engine(run_config, [btc_file], {"BTCUSDT": -8.1}, store)
    try:
        await engine.start()
        await engine.run()
        if engine.trades:
            await engine.close_all()
        await engine.stop()
        out = []
        for position in await store.closed_positions(limit=ALL):
            for event in await store.position_events(position.id or 0):
                if event.kind in ("stop_loss_set", "stop_loss_moved"):
                    out.append((position.opened_at, event.ts, event.note))
        return out
    finally:
        await engine.stop()
        await engine.venue.market.close()
        await engine.exchange.close()
        await store.close()


def test_no_reanchor_before_the_fill_is_known(btc_file: Path, tmp_path: Path) -> None:
    config = apply_overrides(
        Config.model_validate({"logging": {"file": str(tmp_path / "log.jsonl")}}),
        parse_grid(LOOSE)[0],
    )
    events = asyncio.run(_events(config, btc_file, tmp_path / "run.db"))
    moves = [(opened, ts) for opened, ts, note in events if note.startswith("re-anchored")]
    assert len(moves) >= 3, events
    known = config.backtest.latency_ms + config.backtest.answer_latency_ms
    for opened, ts in moves:
        assert ts >= opened + known, (opened, ts)
