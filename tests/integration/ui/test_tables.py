"""SyncedTable: a changed cell is shown, and only its row is repainted."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region

from densitytui.ui.themes import THEME_VARIABLES
from densitytui.ui.widgets.table import SyncedTable

COLUMNS = (("Symbol", 8), ("Last", 8), ("Trend", 6))
ROWS = [
    ("BTCUSDT", ("BTCUSDT", "100.5", "up")),
    ("ETHUSDT", ("ETHUSDT", "20.25", "flat")),
    ("SOLUSDT", ("SOLUSDT", "3.125", "down")),
]


class WatchedTable(SyncedTable):
    """Records what each refresh asked to repaint (an empty tuple: the whole table)."""

    def __init__(self) -> None:
        self.refreshed: list[tuple[Region, ...]] = []
        super().__init__(COLUMNS)

    def refresh(self, *regions: Region, **options: bool) -> WatchedTable:
        self.refreshed.append(regions)
        super().refresh(*regions, **options)
        return self


class TableApp(App[None]):
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLES

    def compose(self) -> ComposeResult:
        yield WatchedTable()


def line_text(table: SyncedTable, key: str) -> str:
    """The row's line as the table renders it now (the header is line 0)."""
    return table.render_line(table.get_row_index(key) + 1).text


async def test_a_changed_cell_is_shown_and_only_its_row_repainted() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(WatchedTable)
        table.sync(ROWS)
        await pilot.pause()
        assert "100.5" in line_text(table, "BTCUSDT")
        table.refreshed.clear()
        changed = [*ROWS]
        changed[1] = ("ETHUSDT", ("ETHUSDT", "20.5", "flat"))
        table.sync(changed)
        await pilot.pause()
        assert table.get_cell("ETHUSDT", table.ordered_columns[1].key) == "20.5"
        assert "20.5" in line_text(table, "ETHUSDT")
        assert "100.5" in line_text(table, "BTCUSDT")
        repainted = [regions for regions in table.refreshed if regions != ()]
        assert table.refreshed and len(repainted) == len(table.refreshed), "no whole repaint"
        assert all(region.height == 1 for regions in repainted for region in regions)


async def test_the_same_rows_repaint_nothing_and_new_keys_rebuild_keeping_the_cursor() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(WatchedTable)
        table.sync(ROWS)
        await pilot.pause()
        table.move_cursor(row=2)
        table.refreshed.clear()
        table.sync(ROWS)
        assert table.refreshed == []
        table.sync([ROWS[2], ROWS[0]])
        await pilot.pause()
        assert table.row_count == 2
        assert table.selected_key == "SOLUSDT"
