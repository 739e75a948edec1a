"""SyncedTable: changed cells are shown, only their rows repainted; keys move the cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from densitytui.ui.themes import THEME_VARIABLES, shipped_themes
from densitytui.ui.widgets.table import SyncedTable

COLUMNS = (("Symbol", 8), ("Last", 8), ("Trend", 6))
ROWS = [
    (f"S{i}USDT", (f"S{i}USDT", f"{100 + i}.5", Text("up", style="bold green")))
    for i in range(12)
]
SIZE = (40, 8)


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str] = []
        for theme in shipped_themes():
            self.register_theme(theme)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLES

    def compose(self) -> ComposeResult:
        yield SyncedTable(COLUMNS)

    def on_synced_table_row_highlighted(self, event: SyncedTable.RowHighlighted) -> None:
        self.highlighted.append(event.key)


def screen_line(table: SyncedTable, y: int) -> str:
    return table.render_line(y).text


@asynccontextmanager
async def shown_rows(
    focus: bool = False,
) -> AsyncIterator[tuple[TableApp, Pilot[None], SyncedTable]]:
    """The one-table app at SIZE with ROWS synced and drawn (focused first if asked)."""
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(SyncedTable)
        if focus:
            table.focus()
        table.sync(ROWS)
        await pilot.pause()
        yield app, pilot, table


async def test_a_changed_cell_is_shown_and_only_its_row_repainted() -> None:
    async with shown_rows() as (_app, pilot, table):
        assert screen_line(table, 0).split() == ["Symbol", "Last", "Trend"]
        assert screen_line(table, 1).split() == ["S0USDT", "100.5", "up"]
        painted = table.repainted_rows
        changed = [*ROWS]
        changed[1] = ("S1USDT", ("S1USDT", "101.75", ROWS[1][1][2]))
        table.sync(changed)
        await pilot.pause()
        assert table.repainted_rows - painted == 1
        assert screen_line(table, 2).split() == ["S1USDT", "101.75", "up"]
        assert screen_line(table, 1).split() == ["S0USDT", "100.5", "up"]
        table.sync(changed)
        assert table.repainted_rows - painted == 1, "the same rows repaint nothing"


async def test_the_cursor_moves_scrolls_and_keeps_its_key_when_rows_change() -> None:
    async with shown_rows(focus=True) as (app, pilot, table):
        assert table.selected_key == "S0USDT" and app.highlighted == ["S0USDT"]
        await pilot.press("j", "down", "down")
        assert table.selected_key == "S3USDT"
        await pilot.press("end")
        assert table.selected_key == "S11USDT"
        await pilot.pause()
        assert "S11USDT" in screen_line(table, table.size.height - 1), "scrolled into view"
        await pilot.press("k", "up")
        assert table.selected_key == "S9USDT"
        assert app.highlighted[-3:] == ["S11USDT", "S10USDT", "S9USDT"]
        table.sync([ROWS[9], ROWS[0]])
        await pilot.pause()
        assert table.row_count == 2 and table.selected_key == "S9USDT"
        assert app.highlighted[-1] == "S9USDT"
        table.sync([ROWS[0], ROWS[9], ROWS[1]])
        table.move_cursor(1)
        table.sync([ROWS[0], ROWS[1]])
        await pilot.pause()
        assert table.selected_key == "S0USDT", "its row gone, the cursor goes to the first"
        assert app.highlighted[-1] == "S0USDT"


async def test_a_click_moves_the_cursor_to_the_row() -> None:
    async with shown_rows() as (_app, pilot, table):
        await pilot.click(SyncedTable, offset=(2, 3))
        assert table.selected_key == "S2USDT"


class TwoTablesApp(TableApp):
    def compose(self) -> ComposeResult:
        yield SyncedTable(COLUMNS, id="one")
        yield SyncedTable(COLUMNS, id="two")


async def test_the_cursor_row_shows_whether_its_table_has_the_focus() -> None:
    app = TwoTablesApp()
    async with app.run_test(size=(40, 16)) as pilot:
        one = app.query_one("#one", SyncedTable)
        two = app.query_one("#two", SyncedTable)
        for table in (one, two):
            table.sync(ROWS)
        one.focus()
        await pilot.pause()
        focused = [segment.style for segment in one.render_line(1)]
        assert focused != [segment.style for segment in one.render_line(2)], "cursor drawn"
        two.focus()
        await pilot.pause()
        blurred = [segment.style for segment in one.render_line(1)]
        assert blurred != focused
        assert [segment.style for segment in two.render_line(1)] == focused


async def test_a_theme_change_repaints_the_rows_in_its_colours() -> None:
    async with shown_rows() as (app, pilot, table):
        dark = table.render_line(2)
        app.theme = "densitytui-light"
        await pilot.pause()
        assert table.render_line(2).text == dark.text, "the rows stay shown until the next sync"
        painted = table.repainted_rows
        table.sync(ROWS)
        visible = table.size.height - 1
        assert table.repainted_rows - painted == visible, "every visible row repainted"
        light = table.render_line(2)
        assert dark.text == light.text
        assert [s.style for s in dark] != [s.style for s in light]


async def test_the_row_under_the_mouse_is_highlighted_until_a_key_moves_the_cursor() -> None:
    async with shown_rows() as (_app, pilot, table):
        plain = [segment.style for segment in table.render_line(4)]
        assert plain == [segment.style for segment in table.render_line(5)]
        await pilot.hover(SyncedTable, offset=(2, 4))
        await pilot.pause()
        assert [segment.style for segment in table.render_line(4)] != plain
        assert [segment.style for segment in table.render_line(5)] == plain
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        assert [segment.style for segment in table.render_line(4)] == plain
