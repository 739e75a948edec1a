"""Every binding, pressed in the app running a real engine on the simulated market."""

from __future__ import annotations

import pytest
from engine_app import engine_app, play, screen_text, started, until, with_signals
from textual.command import CommandPalette
from textual.widgets import Label

from densitytui.model import TradingMode
from densitytui.ui.app import DensityApp
from densitytui.ui.screens.confirm import ConfirmScreen, TypedConfirmScreen
from densitytui.ui.screens.help import HelpScreen
from densitytui.ui.widgets.ladder import Ladder
from densitytui.ui.widgets.movers import MoversTable
from densitytui.ui.widgets.positions import PositionsTable
from densitytui.ui.widgets.signals import SignalsTable

WIDE = (160, 48)


def engine_snapshot(app: DensityApp):
    assert app.engine is not None
    return app.engine.snapshot()


def selected_signal(app: DensityApp) -> tuple[str, str]:
    """(id, symbol) of the signal under the cursor of the signals table."""
    chosen = app.main_screen.query_one(SignalsTable).selected_key
    snapshot = app.main_screen.snapshot
    assert chosen is not None and snapshot is not None
    return chosen, next(p.signal.symbol for p in snapshot.signals if p.signal.id == chosen)


async def open_position(pilot, app: DensityApp, clock) -> str:
    await with_signals(pilot, app, clock)
    app.main_screen.query_one(SignalsTable).focus()
    _, symbol = selected_signal(app)
    await pilot.press("y")
    await until(
        pilot, lambda: any(p.symbol == symbol for p in engine_snapshot(app).positions),
        "the confirmed signal's position",
    )
    app.main_screen.poll()
    await pilot.pause()
    return symbol


@pytest.mark.parametrize("key", ["y", "enter"])
async def test_confirming_the_selected_signal_opens_its_position(tmp_path, key: str) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await with_signals(pilot, app, clock)
        app.main_screen.query_one(SignalsTable).focus()
        _, symbol = selected_signal(app)
        assert not engine_snapshot(app).positions
        await pilot.press(key)
        await until(pilot, lambda: bool(engine_snapshot(app).positions), "a position")
        app.main_screen.poll()
        await pilot.pause()
        assert [p.symbol for p in engine_snapshot(app).positions] == [symbol]
        assert app.main_screen.query_one(PositionsTable).selected_key == symbol


async def test_confirm_keys_outside_the_signals_pane_trade_nothing(tmp_path) -> None:
    """Enter in Movers opens the highlighted symbol on the ladder; y, n and c there only say
    where they work (the issue: Enter in Movers opened a Sell on another symbol)."""
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await with_signals(pilot, app, clock)
        movers = app.main_screen.query_one(MoversTable)
        movers.focus()
        await pilot.press("j", "j")
        highlighted = movers.selected_key
        pending = [p.signal.id for p in engine_snapshot(app).signals]
        assert pending
        app.main_screen.symbol = None
        await pilot.press("enter")
        await pilot.pause()
        assert app.main_screen.symbol == highlighted
        assert app.main_screen.query_one("#ladder", Ladder).symbol == highlighted
        await pilot.press("y", "enter", "n", "c")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
        assert not engine_snapshot(app).positions
        still = [p.signal.id for p in engine_snapshot(app).signals]
        assert set(pending) <= set(still), "a key outside Signals removed a pending signal"
        messages = [n.message for n in app._notifications]
        assert any("Signals pane" in m for m in messages)
        assert any("Positions pane" in m for m in messages)


async def test_rejecting_removes_the_signal(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await with_signals(pilot, app, clock)
        app.main_screen.query_one(SignalsTable).focus()
        chosen, _ = selected_signal(app)
        await pilot.press("n")
        await until(
            pilot, lambda: chosen not in [p.signal.id for p in engine_snapshot(app).signals],
            "the rejected signal gone",
        )
        app.main_screen.poll()
        await pilot.pause()
        assert chosen not in app.main_screen.query_one(SignalsTable)._shown
        assert not engine_snapshot(app).positions


@pytest.mark.parametrize("where", ["main", "help", "close-position question", "palette", "tabs"])
async def test_close_all_flattens_from_every_screen(tmp_path, where: str) -> None:
    app, clock = engine_app(tmp_path)
    size = (80, 24) if where == "tabs" else WIDE
    async with app.run_test(size=size) as pilot:
        await open_position(pilot, app, clock)
        if where == "help":
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
        elif where == "close-position question":
            app.main_screen.query_one(PositionsTable).focus()
            await pilot.press("c")
            assert isinstance(app.screen, ConfirmScreen)
        elif where == "palette":
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press("f9")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.name == "close-all"
        await pilot.press("y")
        await until(pilot, lambda: not engine_snapshot(app).positions, "no positions")
        app.main_screen.poll()
        await pilot.pause()
        assert app.main_screen.query_one(PositionsTable).row_count == 0


async def test_ctrl_x_also_closes_all_and_no_keeps_the_position(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        symbol = await open_position(pilot, app, clock)
        await pilot.press("ctrl+x")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.name == "close-all"
        await pilot.press("n")
        await pilot.pause(0.05)
        assert [p.symbol for p in engine_snapshot(app).positions] == [symbol]
        await pilot.press("ctrl+x", "y")
        await until(pilot, lambda: not engine_snapshot(app).positions, "no positions")


async def test_c_closes_the_selected_position_after_asking(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await open_position(pilot, app, clock)
        app.main_screen.query_one(PositionsTable).focus()
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: not engine_snapshot(app).positions, "the position closed")


async def test_a_cycles_the_mode_and_auto_asks_first(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 1)
        assert engine_snapshot(app).status.mode is TradingMode.SEMI
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause(0.05)
        assert engine_snapshot(app).status.mode is TradingMode.SEMI
        await pilot.press("a", "y")
        await until(pilot, lambda: engine_snapshot(app).status.mode is TradingMode.AUTO, "auto")
        await play(pilot, app, clock, 0.1)
        assert str(app.main_screen.query_one("#status-mode", Label).content) == "AUTO"
        await pilot.press("a")
        await until(pilot, lambda: engine_snapshot(app).status.mode is TradingMode.MANUAL, "manual")
        await play(pilot, app, clock, 0.1)
        await pilot.press("a")
        await until(pilot, lambda: engine_snapshot(app).status.mode is TradingMode.SEMI, "semi")


async def test_on_live_auto_needs_the_typed_word(tmp_path) -> None:
    """The venue name decides the question; the engine under it is the simulated one."""
    app, clock = engine_app(tmp_path, app={"venue": "live"})
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 1)
        assert str(app.main_screen.query_one("#status-venue", Label).content) == "LIVE"
        assert app.main_screen.query_one("#status-venue", Label).has_class("-live")
        await pilot.press("a")
        assert isinstance(app.screen, TypedConfirmScreen)
        await pilot.press("y", "e", "s", "enter")
        await pilot.pause(0.05)
        assert engine_snapshot(app).status.mode is TradingMode.SEMI
        await pilot.press("a")
        assert isinstance(app.screen, TypedConfirmScreen)
        await pilot.press("A", "U", "T", "O", "enter")
        await until(pilot, lambda: engine_snapshot(app).status.mode is TradingMode.AUTO, "auto")


async def test_p_pauses_and_resumes_entries(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 1)
        await pilot.press("p")
        await until(pilot, lambda: engine_snapshot(app).status.entries_paused, "paused")
        await play(pilot, app, clock, 0.1)
        assert "PAUSED" in str(app.main_screen.query_one("#status-mode", Label).content)
        await pilot.press("p")
        await until(pilot, lambda: not engine_snapshot(app).status.entries_paused, "resumed")


async def test_quit_asks_while_positions_are_open(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await open_position(pilot, app, clock)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.name == "quit"
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.name == "quit"
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running


async def test_quit_without_positions_does_not_ask(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 1)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_help_lists_every_binding_and_closes(tmp_path) -> None:
    app, _ = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            await pilot.press(key)
            assert not isinstance(app.screen, HelpScreen)


async def test_tab_cycles_the_panes_and_moves_the_focus(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        order = ["movers", "densities", "signals", "positions", "events"]
        assert app.focused is not None and app.focused.id == "movers"
        for expected in [*order[1:], "movers"]:
            await pilot.press("tab")
            assert app.focused is not None and app.focused.id == expected
        await pilot.press("shift+tab")
        assert app.focused is not None and app.focused.id == "events"


async def test_at_80x24_the_panes_become_tabs(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app, clock)
        screen = app.main_screen
        assert screen.has_class("-tabs")
        shown = [p.id for p in screen.query("#panes > Pane") if p.display]
        assert shown == ["movers-pane"]
        await pilot.press("tab")
        shown = [p.id for p in screen.query("#panes > Pane") if p.display]
        assert shown == ["densities-pane"]
        await pilot.press("tab")
        shown = [p.id for p in screen.query("#panes > Pane") if p.display]
        assert shown == ["signals-pane"]
        assert app.focused is not None and app.focused.id == "signals"


async def test_arrows_and_j_k_move_through_movers_and_the_ladder_follows(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 2)
        movers = app.main_screen.query_one(MoversTable)
        ladder = app.main_screen.query_one("#ladder", Ladder)
        first = movers.selected_key
        assert ladder.symbol == first
        await pilot.press("j")
        second = movers.selected_key
        assert second != first and ladder.symbol == second
        await pilot.press("down")
        assert movers.selected_key not in (first, second)
        await pilot.press("k", "up")
        assert movers.selected_key == first and ladder.symbol == first


async def test_the_palette_jumps_to_a_symbol_and_switches_theme(tmp_path) -> None:
    app, clock = engine_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 2)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        movers = app.main_screen.query_one(MoversTable)
        assert movers.selected_key != "XRPUSDT"
        await pilot.press(*"Symbol XRPUSDT", "enter")
        await until(pilot, lambda: app.main_screen.symbol == "XRPUSDT", "XRPUSDT shown")
        assert app.main_screen.query_one("#ladder", Ladder).symbol == "XRPUSDT"
        assert movers.selected_key == "XRPUSDT", "the movers cursor stayed elsewhere"
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"Theme densitytui-contrast", "enter")
        await until(pilot, lambda: app.theme == "densitytui-contrast", "the contrast theme")


async def test_remapped_keys_work_show_in_help_and_the_old_key_is_free(tmp_path) -> None:
    app, clock = engine_app(tmp_path, keys={"close_all": "f8", "pause_entries": "z"})
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, app, clock)
        await play(pilot, app, clock, 1)
        await pilot.press("f9")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("f8")
        assert isinstance(app.screen, ConfirmScreen) and app.screen.name == "close-all"
        await pilot.press("n")
        await pilot.press("z")
        await until(pilot, lambda: engine_snapshot(app).status.entries_paused, "paused by z")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        lines = [line for line in screen_text(app).splitlines() if "close_all" in line]
        assert len(lines) == 1 and "F8" in lines[0] and "F9" not in lines[0]
