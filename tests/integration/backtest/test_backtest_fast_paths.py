"""The backtest's shortcuts decide nothing differently: a differential run on the real BTC data.

The run as `densitytui backtest` makes it (signals looked for only when price is within reach of
a density that can signal, repeats not made, the paper broker fed prices, the engine settling
only when the account queued an update, a scratch journal on the loop's thread: no density
history, no state kept for a restart) against a reference engine that looks for signals on
every evaluation among all densities and drops repeats afterwards, as the engine did before,
journaling everything to the app's own SQLite store. Every signal, decision, order, fill,
position and its events, and every logged event, must be the same.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from densitytui.backtest.overrides import apply_overrides, parse_grid
from densitytui.backtest.run import backtest_config, open_scratch_store, replay_engine
from densitytui.config import Config
from densitytui.engine.engine import TradingEngine
from densitytui.model import Trend
from densitytui.storage import Store, open_store
from densitytui.strategy.signals import find_signals

ALL = 1_000_000


class EveryEvaluation(TradingEngine):
    """The reference: every evaluation asks `find_signals` about every density of the symbol,
    then drops the signals already shown (the engine's evaluation before `Reach`)."""

    def _evaluate(
        self, symbol: str, now: int, started: float, last: float, prev: float,
    ) -> None:
        self._last_eval[symbol] = now
        tracker = self.market.tracker(symbol)
        if tracker is None or not tracker.densities():
            return
        trend = self.market.trend(symbol)
        if trend is Trend.FLAT:
            return
        instrument = self.instruments.get(symbol)
        tape = self.market.tape(symbol)
        assert tape is not None
        found = find_signals(
            symbol, now, trend, last, prev, tracker.densities(),
            tape, instrument.tick_size if instrument else 0.0, self._rules_of(symbol)[0],
            book_valid=self.market.book_valid(symbol),
            change_24h_pct=self.market.change_24h(symbol),
        )
        known = self._signal_keys.setdefault(symbol, set())
        for signal in found:
            key = (signal.kind, signal.density_id)
            if key not in known:
                known.add(key)
                self._on_signal(signal, started)


async def _journal(store: Store) -> dict[str, Any]:
    positions = await store.closed_positions(limit=ALL)
    return {
        "signals": await store.recent_signals(limit=ALL),
        "decisions": await store.decisions(limit=ALL),
        "orders": [await store.order(f.order_link_id) for f in await store.recent_fills(ALL)],
        "fills": await store.recent_fills(limit=ALL),
        "positions": positions,
        "position_events": [
            [(e.ts, e.kind, e.old_value, e.new_value, e.note)
             for e in await store.position_events(p.id or 0)]
            for p in positions
        ],
        "open": await store.open_positions(),
        "events": [
            (e.ts, e.kind, e.symbol, e.message) for e in await store.recent_events(limit=ALL)
        ],
    }


async def _run(config: Config, files: list[Path], changes: dict[str, float], db: Path,
               reference: bool) -> dict[str, Any]:
    run_config = backtest_config(config, db)
    if reference:
        store = await open_store(run_config.storage)
        engine = await replay_engine(
            run_config, files, changes, store, engine_type=EveryEvaluation,
        )
    else:
        store = await open_scratch_store(run_config)
        engine = await replay_engine(run_config, files, changes, store, scratch_journal=True)
    try:
        await engine.start()
        await engine.run()
        if engine.trades:
            await engine.close_all()
        await engine.stop()
        journal = await _journal(store)
        journal["history"] = len(await store.density_events(limit=ALL))
        journal["state"] = [
            await store.get_state(f"{key}:replay") for key in ("safety", "paper_account")
        ]
        return journal
    finally:
        await engine.stop()
        await engine.venue.market.close()
        await engine.exchange.close()
        await store.close()


CASES = {
    # The bench's run: a DOWN trend, bounces and breakouts on bids.
    "down": ({"BTCUSDT": -8.1}, ["risk.max_position_exposure_pct=10"]),
    # An UP trend: the ask side.
    "up": ({"BTCUSDT": 8.1}, ["risk.max_position_exposure_pct=10"]),
    # Looser signals: many more of them, and of positions to exit.
    "loose": ({"BTCUSDT": -8.1}, [
        "risk.max_position_exposure_pct=10", "signals.bounce_max_distance_pct=0.5",
        "signals.bounce_max_erosion_pct=40", "signals.bounce_max_eaten_pct=40",
        "signals.breakout_min_erosion_pct=10",
    ]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_backtest_decides_as_the_reference(
    case: str, btc_file: Path, tmp_path: Path,
) -> None:
    changes, overrides = CASES[case]
    config = apply_overrides(
        Config.model_validate({"logging": {"file": str(tmp_path / "log.jsonl")}}),
        parse_grid(overrides)[0],
    )
    fast = asyncio.run(_run(config, [btc_file], changes, tmp_path / "fast.db", False))
    reference = asyncio.run(_run(config, [btc_file], changes, tmp_path / "ref.db", True))
    assert reference["signals"], "the case should make signals"
    assert fast.pop("history") == 0
    assert reference.pop("history") > 0
    assert fast.pop("state") == [None, None]
    assert None not in reference.pop("state")
    for part in reference:
        assert fast[part] == reference[part], part
