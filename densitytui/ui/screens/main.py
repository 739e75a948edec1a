"""The main trading screen: status bar, ladders, movers, signals, positions and events.

It reads the engine a few times a second (`snapshot()`, `events_since()`), and the ladders read
their books on their own faster timer. Keys send commands to the engine through `EngineControl`;
refusals come back as events, never as exceptions on the screen. The layout follows the terminal:
below 80x24 a message replaces everything, up to 120x32 the panes beside the ladder become tabs
(one shown, tab cycles), and wide terminals get small ladders of the next movers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from densitytui.config import Config, KeysSection
from densitytui.engine.state import EngineControl, EngineSnapshot, MoverRow
from densitytui.logging import tail
from densitytui.model import TradingMode
from densitytui.ui.beats import Beat, BeatPlan
from densitytui.ui.keymap import key_display
from densitytui.ui.ladder_rows import LadderSettings
from densitytui.ui.screens.confirm import ConfirmScreen, TypedConfirmScreen
from densitytui.ui.widgets.events import EventsLog
from densitytui.ui.widgets.ladder import Ladder, LadderFrame
from densitytui.ui.widgets.log_pane import LogPane
from densitytui.ui.widgets.movers import MoversTable
from densitytui.ui.widgets.pane import Pane
from densitytui.ui.widgets.positions import PositionsTable
from densitytui.ui.widgets.screener import DensitiesTable, screen_densities
from densitytui.ui.widgets.signals import SignalsTable
from densitytui.ui.widgets.status import StatusBar
from densitytui.ui.widgets.table import SyncedTable

if TYPE_CHECKING:
    from densitytui.ui.app import DensityApp

MIN_WIDTH, MIN_HEIGHT = 80, 24
TABS_BELOW = (120, 32)
# Width of the main ladder and of each small one; small ladders appear when the panes keep this.
LADDER_WIDTH = 46
MINI_WIDTH = 30
PANES_MIN_WIDTH = 100
MINI_MIN_HEIGHT = 36
MINI_EVERY = 3
MOVERS_EVERY_MS = 1000
LOG_REFRESH_S = 0.5
PANES = ("movers", "densities", "signals", "positions", "events")
# The screener reads every watched book: once a second is enough for walls that live minutes.
SCREENER_EVERY_MS = 1000
NEXT_MODE = {
    TradingMode.MANUAL: TradingMode.SEMI,
    TradingMode.SEMI: TradingMode.AUTO,
    TradingMode.AUTO: TradingMode.MANUAL,
}
KEYS = KeysSection()


def mini_grid(width: int, height: int, limit: int) -> tuple[int, int]:
    """Columns and rows of small ladders that fit beside the main ladder and the panes."""
    if height < MINI_MIN_HEIGHT:
        return 0, 0
    columns = max(0, (width - LADDER_WIDTH - PANES_MIN_WIDTH) // MINI_WIDTH)
    rows = 2 if height >= 2 * MINI_MIN_HEIGHT - 12 else 1
    columns = min(columns, limit // rows if rows else 0)
    return (columns, rows) if columns > 0 else (0, 0)


class MainScreen(Screen[None]):
    """Everything the trader watches; the bindings here work while no dialog is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Confirm and reject belong to the Signals pane (and close to Positions): pressed
        # elsewhere they only say where they work, so no key trades what the trader is not
        # looking at.
        Binding(KEYS.confirm_signal, "elsewhere('signals')", "Confirm", show=False,
                id="confirm_signal"),
        Binding(KEYS.reject_signal, "elsewhere('signals')", "Reject", show=False,
                id="reject_signal"),
        Binding(KEYS.cycle_mode, "cycle_mode", "Mode", id="cycle_mode"),
        Binding(KEYS.pause_entries, "pause_entries", "Pause", id="pause_entries"),
        Binding(KEYS.close_position, "elsewhere('positions')", "Close", show=False,
                id="close_position"),
        Binding(KEYS.help, "help", "Help", id="help"),
        Binding(KEYS.quit, "app.quit", "Quit", id="quit"),
        Binding(KEYS.next_pane, "next_pane(1)", "Next pane", show=False, id="next_pane"),
        Binding(KEYS.previous_pane, "next_pane(-1)", "Prev pane", show=False, id="previous_pane"),
        Binding(KEYS.toggle_log, "app.toggle_log", "Log", show=False, id="toggle_log"),
    ]

    DEFAULT_CSS = """
    MainScreen { layout: vertical; }
    MainScreen #body { height: 1fr; }
    MainScreen #ladder-frame { width: 46; }
    MainScreen #minis { display: none; width: auto; grid-gutter: 0; }
    MainScreen.-minis #minis { display: block; }
    MainScreen #minis > LadderFrame { width: 30; height: 1fr; }
    MainScreen #panes { width: 1fr; }
    MainScreen #tabs { display: none; height: 1; background: $panel; color: $text-muted; }
    MainScreen #events-pane { height: 5; }
    MainScreen.-tabs #tabs { display: block; }
    MainScreen.-tabs #ladder-frame { width: 38; }
    MainScreen.-tabs #panes > Pane { display: none; height: 1fr; }
    MainScreen.-tabs #panes > Pane.-active { display: block; }
    MainScreen #too-small {
        display: none;
        width: 100%;
        height: 100%;
        content-align: center middle;
        text-style: bold;
        color: $warning;
    }
    MainScreen.-too-small #too-small { display: block; }
    MainScreen.-too-small #status, MainScreen.-too-small #body,
    MainScreen.-too-small Footer, MainScreen.-too-small #log { display: none; }
    """

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.engine: EngineControl | None = None
        self.symbol: str | None = None
        self.snapshot: EngineSnapshot | None = None
        self.active_pane = 0
        self._ladder_ticks = 0
        self._beats = BeatPlan(
            config.ui.ladder_interval_ms / 1000, 1 / config.ui.snapshot_refresh_hz, LOG_REFRESH_S
        )
        # Movers read by the last poll, shown on the next beat.
        self._movers_due: tuple[MoverRow, ...] | None = None
        self._movers_shown_ms = 0
        self._movers_shown: list[str] = []
        self.stopped_reason = ""
        self._screener_shown_ms = -SCREENER_EVERY_MS
        # The engine's clock (the market's virtual time on sim, wall time on Bybit) and when it
        # last moved: an engine whose clock stands still has stalled.
        self._engine_now_ms = -1
        self._engine_moved_at = time.monotonic()
        self._ladder_settings = LadderSettings(
            config.density.min_notional_usdt,
            config.density.spoof_pulled_pct,
            config.density.change_report_pct,
        )

    # ---- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(self.config.app.venue, id="status")
        with Horizontal(id="body"):
            yield LadderFrame(self._ladder(id="ladder"), id="ladder-frame")
            yield Grid(id="minis")
            with Vertical(id="panes"):
                yield Static("", id="tabs")
                with Pane("Movers", id="movers-pane"):
                    yield MoversTable(id="movers")
                with Pane("Densities", id="densities-pane"):
                    yield DensitiesTable(id="densities")
                with Pane("Signals", id="signals-pane"):
                    yield SignalsTable(id="signals")
                with Pane("Positions", id="positions-pane"):
                    yield PositionsTable(id="positions")
                with Pane("Events", id="events-pane"):
                    yield EventsLog(id="events")
        yield LogPane(id="log")
        # The multiplication sign is the message the issue asks for.
        too_small = f"terminal too small: needs {MIN_WIDTH}×{MIN_HEIGHT}"  # noqa: RUF001
        yield Static(too_small, id="too-small")
        yield Footer(compact=True, show_command_palette=False)

    def pull_ladders(self) -> None:
        """The ladders read their latest books in one tick, so they paint in one frame; the
        small ones every `MINI_EVERY` ticks, since the trader watches the main one."""
        self._ladder_ticks += 1
        minis = self._ladder_ticks % MINI_EVERY == 0
        with self.app.batch_update():
            self.query_one("#ladder", Ladder).pull()
            if minis:
                for frame in self.query("#minis > LadderFrame").results(LadderFrame):
                    if frame.display:
                        frame.ladder.pull()

    def refresh_log(self) -> None:
        """Show the log records written since the last look (the log pane may be hidden)."""
        self.query_one(LogPane).show_records(*tail.snapshot())

    def _ladder(self, *, id: str | None = None, compact: bool = False) -> Ladder:
        return Ladder(
            self.engine,
            refresh_hz=None,
            settings=self._ladder_settings,
            compact=compact,
            id=id,
        )

    def on_mount(self) -> None:
        self.set_interval(self._beats.beat_s, self._beat)
        self._activate(0, focus=True)
        self.poll()

    def _beat(self) -> None:
        """One beat's work (`BeatPlan`): the ladders, or the movers, a poll and the log."""
        for work in self._beats.step(time.monotonic(), self._movers_due is not None):
            if work is Beat.LADDERS:
                self.pull_ladders()
            elif work is Beat.MOVERS:
                if self._movers_due is not None:
                    self.query_one(MoversTable).show(self._movers_due)
                    self._movers_due = None
            elif work is Beat.POLL:
                self.poll(movers_later=True)
            else:
                self.refresh_log()

    def on_resize(self, event: Resize) -> None:
        width, height = event.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        self.set_class(width < TABS_BELOW[0] or height < TABS_BELOW[1], "-tabs")
        self._layout_minis(width, height)

    def _layout_minis(self, width: int, height: int) -> None:
        columns, rows = mini_grid(width, height, self.config.ui.max_mini_ladders)
        if self.has_class("-tabs"):
            columns = rows = 0
        minis = self.query_one("#minis", Grid)
        wanted = columns * rows
        current = list(minis.query(LadderFrame))
        for extra in current[wanted:]:
            extra.remove()
        if wanted > len(current):
            minis.mount_all(
                LadderFrame(self._ladder(compact=True)) for _ in range(wanted - len(current))
            )
        if wanted:
            minis.styles.grid_size_columns = columns
            minis.styles.grid_size_rows = rows
            minis.styles.width = columns * MINI_WIDTH
        self.set_class(wanted > 0, "-minis")

    def _pane_widgets(self) -> list[Widget]:
        return [self.query_one(f"#{name}") for name in PANES]

    def _activate(self, index: int, *, focus: bool) -> None:
        self.active_pane = index % len(PANES)
        for i, name in enumerate(PANES):
            self.query_one(f"#{name}-pane").set_class(i == self.active_pane, "-active")
        labels = [
            f"[reverse] {name.title()} [/]" if i == self.active_pane else f" {name.title()} "
            for i, name in enumerate(PANES)
        ]
        self.query_one("#tabs", Static).update("".join(labels))
        if focus:
            self._pane_widgets()[self.active_pane].focus()

    def on_descendant_focus(self) -> None:
        focused = self.focused
        for i, widget in enumerate(self._pane_widgets()):
            if focused is widget and i != self.active_pane:
                self._activate(i, focus=False)

    def action_next_pane(self, step: int) -> None:
        self._activate(self.active_pane + step, focus=True)

    # ---- engine state ----------------------------------------------------------------------

    def attach(self, engine: EngineControl) -> None:
        """Show this engine from now on (it exists once the database is open)."""
        self.engine = engine
        for ladder in self.query(Ladder):
            ladder.source = engine
        self.poll()

    def engine_stopped(self, reason: str) -> None:
        """The engine's worker ended: say so for good, and stop reading it."""
        self.stopped_reason = reason
        self.query_one(StatusBar).show_no_engine(reason)

    def poll(self, full: bool = False, *, movers_later: bool = False) -> None:
        """Read the engine's latest state and show what changed; `full` refreshes the movers
        table too, which otherwise follows once per second of market time; `movers_later`
        leaves the movers for the next beat to show."""
        engine = self.engine
        status = self.query_one(StatusBar)
        status.show_title(self.app.sub_title)
        if engine is None or self.stopped_reason:
            status.show_no_engine(self.stopped_reason or "engine starting")
            return
        snapshot = engine.snapshot()
        now = time.monotonic()
        if snapshot.status.now_ms != self._engine_now_ms:
            self._engine_now_ms = snapshot.status.now_ms
            self._engine_moved_at = now
        stalled = now - self._engine_moved_at
        stall_s = self.config.ui.engine_stall_s
        status.show(snapshot, stalled if stalled >= stall_s else None, stall_s)
        seq, events = engine.events_since(self.query_one(EventsLog).seq)
        if events:
            self.query_one(EventsLog).append_events(seq, events)
            self.density_app.alerter.handle(events)
        if snapshot is self.snapshot:
            return
        self.snapshot = snapshot
        now_ms = snapshot.status.now_ms
        symbols = [row.symbol for row in snapshot.movers]
        if (
            full
            or now_ms - self._movers_shown_ms >= MOVERS_EVERY_MS
            or symbols != self._movers_shown
        ):
            # Every row moves on any change: once a second of market is enough.
            self._movers_shown_ms = now_ms
            self._movers_shown = symbols
            self._movers_due = snapshot.movers if movers_later else None
            if not movers_later:
                self.query_one(MoversTable).show(snapshot.movers)
        if now_ms - self._screener_shown_ms >= SCREENER_EVERY_MS or full:
            self._screener_shown_ms = now_ms
            self.show_densities(snapshot)
        self.query_one(SignalsTable).show(snapshot.signals, now_ms)
        self.query_one(PositionsTable).show(snapshot.positions, snapshot.breakeven, now_ms)
        if self.symbol is None and snapshot.movers:
            self.show_symbol(snapshot.movers[0].symbol)
        self._show_ladders(snapshot)

    def _show_ladders(self, snapshot: EngineSnapshot) -> None:
        positions = {position.symbol: position for position in snapshot.positions}
        ladder = self.query_one("#ladder", Ladder)
        ladder.set_position(positions.get(self.symbol or ""))
        others = [row.symbol for row in snapshot.movers if row.symbol != self.symbol]
        for i, frame in enumerate(self.query("#minis > LadderFrame").results(LadderFrame)):
            symbol = others[i] if i < len(others) else None
            frame.display = symbol is not None
            frame.ladder.show(symbol)
            frame.ladder.set_position(positions.get(symbol or ""))

    def show_densities(self, snapshot: EngineSnapshot) -> None:
        """Every wall of the watched symbols in the screener (the engine's live books)."""
        engine = self.engine
        if engine is None:
            return
        rows = screen_densities(
            (row.symbol for row in snapshot.movers), engine.book, engine.densities,
            snapshot.status.now_ms, self._ladder_settings, self.config.density.relative_neighbors,
        )
        table = self.query_one(DensitiesTable)
        table.show(rows)
        self._title_densities(table, len(rows))

    def _title_densities(self, table: DensitiesTable, count: int) -> None:
        keys = self.density_app.keys
        self.query_one("#densities-pane", Pane).border_title = (
            f"Densities {count} by {table.sort_name} ({key_display(keys.sort_densities)} sorts, "
            f"{key_display(keys.open_symbol)} opens)"
        )

    @on(DensitiesTable.SortChanged)
    def _sort_changed(self, event: DensitiesTable.SortChanged) -> None:
        self._title_densities(event.table, event.table.row_count)

    def show_symbol(self, symbol: str) -> None:
        """Put `symbol` on the main ladder (the movers table, the palette), and the movers
        cursor on it, so the table and the ladder agree."""
        self.symbol = symbol
        self.query_one(MoversTable).select_key(symbol)
        self.query_one("#ladder", Ladder).show(symbol)
        if self.snapshot is not None:
            self._show_ladders(self.snapshot)

    @on(MoversTable.SymbolSelected)
    def _symbol_selected(self, event: MoversTable.SymbolSelected) -> None:
        self.show_symbol(event.symbol)

    @on(MoversTable.SymbolOpened)
    @on(DensitiesTable.SymbolOpened)
    def _symbol_opened(self, event: MoversTable.SymbolOpened | DensitiesTable.SymbolOpened) -> None:
        self.show_symbol(event.symbol)
        self.notify(f"{event.symbol} on the ladder", timeout=2)

    # ---- commands --------------------------------------------------------------------------

    @property
    def density_app(self) -> DensityApp:
        from densitytui.ui.app import DensityApp

        assert isinstance(self.app, DensityApp)
        return self.app

    def _send(self, command: Callable[[], Awaitable[None]]) -> None:
        self.density_app.send(command)

    def action_elsewhere(self, pane: str) -> None:
        """A signal or position key pressed outside its pane: say where it works, do nothing."""
        self.notify(
            f"That key works in the {pane.title()} pane, on the highlighted row "
            f"({key_display(self.density_app.keys.next_pane)} moves there)",
            severity="warning",
        )

    def _focused_row(self, table_type: type[SyncedTable]) -> str | None:
        """The highlighted key of `table_type` when that table has the focus, else None."""
        focused = self.focused
        return focused.selected_key if isinstance(focused, table_type) else None

    def action_confirm_signal(self) -> None:
        """Send the entry of the signal highlighted in the focused Signals pane."""
        signal_id = self._focused_row(SignalsTable)
        if self.engine is None or signal_id is None:
            self.notify("No signal selected", severity="warning")
            return
        engine = self.engine
        self._send(lambda: engine.confirm(signal_id))

    def action_reject_signal(self) -> None:
        signal_id = self._focused_row(SignalsTable)
        if self.engine is None or signal_id is None:
            self.notify("No signal selected", severity="warning")
            return
        engine = self.engine
        self._send(lambda: engine.reject(signal_id))

    def action_pause_entries(self) -> None:
        if self.engine is None or self.snapshot is None:
            return
        engine = self.engine
        paused = not self.snapshot.status.entries_paused
        self._send(lambda: engine.pause_entries(paused))

    def action_cycle_mode(self) -> None:
        if self.engine is None or self.snapshot is None:
            return
        engine = self.engine
        mode = NEXT_MODE[self.snapshot.status.mode]

        def switch(yes: bool | None = True) -> None:
            if yes:
                self._send(lambda: engine.set_mode(mode))

        if mode is not TradingMode.AUTO:
            switch()
        elif self.config.app.venue == "live":
            self.app.push_screen(
                TypedConfirmScreen("AUTO on LIVE: real money traded without asking.", "AUTO"),
                switch,
            )
        else:
            self.app.push_screen(
                ConfirmScreen("Switch to AUTO? Every signal will be traded without asking."),
                switch,
            )

    def action_close_position(self) -> None:
        """Close the position highlighted in the focused Positions pane, after asking."""
        symbol = self._focused_row(PositionsTable)
        if self.engine is None or symbol is None:
            self.notify("No position selected", severity="warning")
            return
        engine = self.engine

        def close(yes: bool | None) -> None:
            if yes:
                self._send(lambda: engine.close_position(symbol))

        self.app.push_screen(ConfirmScreen(f"Close the {symbol} position at market?"), close)

    def action_help(self) -> None:
        self.density_app.action_help()
