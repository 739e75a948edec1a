"""A DataTable that follows a list of rows by key, changing only the cells that differ.

The engine's snapshot is rebuilt a few times a second; repainting a whole table each time would
flicker and cost CPU. `sync` diffs the new rows against what is shown: a new set or order of keys
rebuilds the rows (keeping the cursor on its key), otherwise only changed cells are updated, all
inside one `batch_update()`, and only their rows are repainted: `DataTable.update_cell` repaints
the whole table (and its scrollbar) for every cell, which was most of what the tables wrote to the
terminal and a good part of each frame's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from densitytui.config import KeysSection

Cell = str | Text
KEYS = KeysSection()


class SyncedTable(DataTable[Cell]):
    """Rows keyed by a string; `sync` brings the table to a new list of rows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.cursor_down, "cursor_down", "Down", show=False, id="cursor_down"),
        Binding(KEYS.cursor_up, "cursor_up", "Up", show=False, id="cursor_up"),
    ]

    DEFAULT_CSS = """
    SyncedTable {
        height: 1fr;
        background: $surface;
    }
    """

    def __init__(self, columns: Sequence[tuple[str, int]], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        # (label, width): fixed widths, so a column never jumps as its numbers change.
        self._column_specs = tuple(columns)
        self._shown: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        for label, width in self._column_specs:
            self.add_column(label, width=width)
        self.app.theme_changed_signal.subscribe(self, self._forget_cells)

    def palette(self) -> dict[str, str]:
        """The theme's trading colours as Rich colours: `up` (bid side), `down` (ask side)."""
        variables = self.app.theme_variables
        return {"up": variables.get("bid", "green"), "down": variables.get("ask", "red")}

    def _forget_cells(self, _theme: object) -> None:
        """Forget what is shown, so the next `sync` rebuilds every cell in the new colours."""
        self._shown = {}

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def sync(self, rows: Sequence[tuple[str, tuple[Cell, ...]]]) -> None:
        """Show exactly `rows` (key, cells) in this order, touching only what changed."""
        keys = [key for key, _ in rows]
        if keys == list(self._shown):
            changed = [(key, cells) for key, cells in rows if self._shown[key] != cells]
            if not changed:
                return
            with self.app.batch_update():
                for key, cells in changed:
                    self._update_row(key, self._shown[key], cells)
                    self._shown[key] = cells
            return
        selected = self.selected_key
        with self.app.batch_update():
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            self._shown = dict(rows)
            if selected in self._shown:
                self.move_cursor(row=keys.index(selected), animate=False)

    def _update_row(self, key: str, old: tuple[Cell, ...], cells: tuple[Cell, ...]) -> None:
        """Set the cells of row `key` that differ and repaint just that row.

        What `update_cell` does without its whole-table refresh: the cell's value, and the
        update count that keys the table's render caches; columns have fixed widths, so no
        width changes."""
        row_key = RowKey(key)
        data = self._data[row_key]
        for column, new_cell, old_cell in zip(self.columns, cells, old, strict=True):
            if new_cell != old_cell:
                data[column] = new_cell
        self._update_count += 1
        # The whole row: a span per changed cell would write more than the row once.
        self.refresh_row(self.get_row_index(row_key))
