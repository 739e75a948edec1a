"""What the engine remembers per signal and per order is bounded, so a run of days does not
creep: the handled signal ids, the (kind, density) pairs that signalled, the order latencies.
Each keeps its most recent entries, which are the ones a decision can still need."""

from __future__ import annotations

import time
from pathlib import Path

from engine_rig import engine_rig, make_config

from densitytui.engine.bounded import (
    HANDLED_SIGNALS_KEPT,
    LATENCY_SAMPLES_KEPT,
    SIGNALED_DENSITIES_KEPT,
)
from densitytui.model import SignalKind


async def test_what_the_engine_remembers_stays_bounded(tmp_path: Path) -> None:
    async with engine_rig(make_config(tmp_path / "e.db")) as rig:
        await rig.until(lambda: "opened" in rig.kinds(), "a first entry")
        engine = rig.engine
        assert engine.handled and engine.feed.signal_keys
        first_signal = next(iter(engine.handled))
        for n in range(3 * HANDLED_SIGNALS_KEPT):
            engine.handled.add(f"later-{n}")
        assert len(engine.handled) == HANDLED_SIGNALS_KEPT
        assert first_signal not in engine.handled
        assert f"later-{3 * HANDLED_SIGNALS_KEPT - 1}" in engine.handled

        symbol, known = next(iter(engine.feed.signal_keys.items()))
        for density_id in range(10**6, 10**6 + 3 * SIGNALED_DENSITIES_KEPT):
            known.add((SignalKind.BOUNCE, density_id))
        assert len(engine.feed.signal_keys[symbol]) == SIGNALED_DENSITIES_KEPT
        assert (SignalKind.BOUNCE, 10**6 + 3 * SIGNALED_DENSITIES_KEPT - 1) in known

        latency = engine.executor.latency
        for _ in range(3 * LATENCY_SAMPLES_KEPT):
            latency.add("auto", time.perf_counter(), 0.0)
        assert LATENCY_SAMPLES_KEPT <= len(latency.samples["auto"]) <= 1.1 * LATENCY_SAMPLES_KEPT


def test_the_simulated_markets_string_caches_stay_small() -> None:
    from densitytui.venues.sim import SPECS
    from densitytui.venues.sim.frames import FORMAT_CACHE_SIZE, Formats

    formats = Formats(SPECS["BTCUSDT"])
    for n in range(1, 10 * FORMAT_CACHE_SIZE):
        assert formats.qty(n) == f"{n * 0.001:.3f}"
        assert formats.price(900_000 + n) == f"{(900_000 + n) / 10:.2f}"
    assert len(formats._sizes) <= FORMAT_CACHE_SIZE
    assert len(formats._prices) <= FORMAT_CACHE_SIZE
