"""The app on a real trading engine over the simulated market, with time held by the test.

Built by `engine.runner.sim_engine`, as the app's own `open_engine` builds the sim, plus the
held clock, which `open_engine` does not take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from held_clock import HeldClock
from textual.pilot import Pilot

from densitytui.config import parse_config
from densitytui.engine.engine import TradingEngine
from densitytui.engine.runner import sim_engine
from densitytui.storage import Store
from densitytui.ui.app import DensityApp
from densitytui.venues.sim.market import SIM_EPOCH_MS

SEED = 2
SYMBOLS = ["XRPUSDT", "DOGEUSDT", "SUIUSDT"]
# Seed 2 on these symbols proposes its first signals after 17 s of market.
SIGNALS_WITHIN_S = 30
# ...and none before 15 s, which are played in one step.
QUIET_S = 15


def engine_app(tmp_path: Path, **sections: dict[str, Any]) -> tuple[DensityApp, HeldClock]:
    """The app, its engine built on the opened store, and the clock the market waits for."""
    raw: dict[str, Any] = {
        "app": {"seed": SEED},
        "sim": {"symbols": SYMBOLS},
        "storage": {"url": f"sqlite:///{tmp_path / 'app.db'}"},
        # Time is held: the engine's snapshot stands still between steps and is not a stall.
        "ui": {"engine_stall_s": 3600.0},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    config = parse_config(raw)
    # The engine always trades the simulated market; the app may show another venue's name.
    on_sim = config.model_copy(update={"app": config.app.model_copy(update={"venue": "sim"})})
    clock = HeldClock()

    async def factory(store: Store) -> TradingEngine:
        return sim_engine(
            on_sim, store, start_ms=SIM_EPOCH_MS, clock=clock, sleep=clock.sleep,
        )

    return DensityApp(config, engine_factory=factory), clock


def screen_text(app: DensityApp) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def until(pilot: Pilot, condition: Callable[[], bool], what: str, steps: int = 500) -> None:
    """Let the app run until `condition` holds; the step bound only limits a failure."""
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")


async def started(pilot: Pilot, app: DensityApp, clock: HeldClock) -> None:
    """Until the engine runs and the feed waits for the clock."""
    await until(pilot, lambda: app.engine is not None, "the engine built on the store")
    await clock.idle()


async def play(pilot: Pilot, app: DensityApp, clock: HeldClock, seconds: float) -> None:
    """Play `seconds` of market, let the engine's tasks finish, and show the result."""
    await clock.advance(seconds)
    await pilot.pause(0.05)
    app.main_screen.poll(full=True)
    await pilot.pause()


async def with_signals(pilot: Pilot, app: DensityApp, clock: HeldClock) -> None:
    """Play the market second by second until the first signals are pending."""
    await started(pilot, app, clock)
    await play(pilot, app, clock, QUIET_S)
    for _ in range(SIGNALS_WITHIN_S - QUIET_S):
        await play(pilot, app, clock, 1)
        snapshot = app.main_screen.snapshot
        if snapshot is not None and snapshot.signals:
            return
    raise AssertionError(f"seed {SEED} proposed no signal within {SIGNALS_WITHIN_S} s")
