"""What must stay on screen when the terminal is small: columns go by priority (Symbol, Side,
PnL and Stop never), the status bar keeps equity and exposure with their unit, and the
help lists every live binding (a replay's keys too)."""

from __future__ import annotations

import pytest
from engine_app import engine_app, play, screen_text, until, with_signals

from densitytui.ui.app import DensityApp
from densitytui.ui.screens.help import HelpScreen
from densitytui.ui.widgets.movers import MoversTable
from densitytui.ui.widgets.positions import PositionsTable
from densitytui.ui.widgets.signals import SignalsTable


async def _position(pilot, app: DensityApp, clock) -> None:
    await with_signals(pilot, app, clock)
    app.main_screen.query_one(SignalsTable).focus()
    await pilot.press("y")
    await until(pilot, lambda: bool(app.engine and app.engine.snapshot().positions), "a position")
    await play(pilot, app, clock, 0.5)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_positions_keep_symbol_side_pnl_and_stop(tmp_path, size) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await _position(pilot, app, clock)
        table = app.main_screen.query_one(PositionsTable)
        table.focus()
        await pilot.pause()
        labels = table.column_labels
        assert {"Symbol", "Side", "PnL", "Stop"} <= set(labels), labels
        assert table.table_width <= table.size.width, "a column is cut off"
        position = app.engine.snapshot().positions[0]
        row = next(line for line in screen_text(app).splitlines() if position.symbol in line
                   and ("LONG" in line or "SHORT" in line))
        assert f"{position.stop_loss:.6g}" in row, row
        if size == (120, 40):
            assert "Age" in labels


async def test_signals_keep_erosion_and_time_left_at_120x40(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await with_signals(pilot, app, clock)
        table = app.main_screen.query_one(SignalsTable)
        assert {"Symbol", "Side", "Eros", "Left"} <= set(table.column_labels)
        movers = app.main_screen.query_one(MoversTable)
        # No horizontal scrollbar over the last mover: every shown column fits.
        assert movers.table_width <= movers.size.width
        assert not movers.show_horizontal_scrollbar


async def test_the_status_bar_keeps_the_account_in_usdt_at_80x24(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await with_signals(pilot, app, clock)
        app.sub_title = "x1 · playing · 2024-08-08"
        app.main_screen.poll(full=True)
        await pilot.pause()
        top = screen_text(app).splitlines()[0]
        assert "eq 1,000.00 USDT" in top and "exp 0 USDT" in top and "day +0.00 USDT" in top


async def test_help_lists_the_bindings_a_subclass_adds(tmp_path) -> None:
    app, _ = engine_app(tmp_path)
    app._bindings.bind("full_stop", "replay_step", "Step 1 s", show=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Step 1 s" in text
        assert "Keys (remap them in [keys] of config.toml)" in text
