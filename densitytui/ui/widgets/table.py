"""A Line-API table that follows a list of rows by key, repainting only the rows that change.

The engine's snapshot is rebuilt a few times a second; the tables show it. `sync` diffs the new
rows against what is shown and repaints only the rows whose cells differ; only a new number of
rows changes the table's size (a layout). Each row is rendered straight to one `Strip` and kept
until its cells, the width or the styles change. Textual's DataTable rendered every cell through
Rich at about 0.7 ms a row, so a movers table that moves every second took over 10 ms of one
frame (the event loop's worst lag), and repainted whole for each changed cell.

It looks like the DataTable it replaced (header, row cursor, focus tint) and keeps its keys:
up/down (remappable), page up/down, home/end, left/right scroll; a click moves the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from densitytui.config import KeysSection

Cell = str | Text
KEYS = KeysSection()
CELL_PADDING = 1


class SyncedTable(ScrollView, can_focus=True):
    """Rows keyed by a string under one header line; `sync` brings it to a new list of rows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.cursor_down, "cursor_down", "Down", show=False, id="cursor_down"),
        Binding(KEYS.cursor_up, "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"table--header", "table--cursor"}

    DEFAULT_CSS = """
    SyncedTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(Message):
        """The row under the cursor is another one (the trader moved, or the rows changed)."""

        def __init__(self, table: SyncedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> SyncedTable:
            return self.table

    def __init__(self, columns: Sequence[tuple[str, int]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        # (label, width): fixed widths, so a column never jumps as its numbers change.
        self._columns = tuple(columns)
        self._keys: list[str] = []
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self.cursor_row = 0
        self._highlighted: str | None = None
        # Rendered rows by key, with what they were rendered for: (width, style, cursor, strip).
        self._strips: dict[str, tuple[int, Style, bool, Strip]] = {}
        self._header: Strip | None = None
        self.repainted_rows = 0

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, self._forget_cells)
        self._resize_virtual()

    @property
    def table_width(self) -> int:
        return sum(width + 2 * CELL_PADDING for _, width in self._columns)

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def palette(self) -> dict[str, str]:
        """The theme's trading colours as Rich colours: `up` (bid side), `down` (ask side)."""
        variables = self.app.theme_variables
        return {"up": variables.get("bid", "green"), "down": variables.get("ask", "red")}

    def _forget_cells(self, _theme: object) -> None:
        """Forget what is shown, so the next `sync` rebuilds every cell in the new colours."""
        self._shown = {key: () for key in self._keys}

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        return self._keys[self.cursor_row] if self._keys else None

    def row_text(self, key: str) -> str:
        """The row's cells as one line of plain text, as the table shows them."""
        return self._row_strip(key, self.size.width or self.table_width, Style(), False).text

    # ---- rows ------------------------------------------------------------------------------

    def sync(self, rows: Sequence[tuple[str, tuple[Cell, ...]]]) -> None:
        """Show exactly `rows` (key, cells) in this order, repainting only what changed; the
        cursor stays on its key while the key is shown."""
        keys = [key for key, _ in rows]
        if keys == self._keys:
            for index, (key, cells) in enumerate(rows):
                if self._shown[key] != cells:
                    self._shown[key] = cells
                    self._strips.pop(key, None)
                    self._refresh_row(index)
            return
        selected = self.selected_key
        self._keys = keys
        self._shown = dict(rows)
        self._strips = {}
        if selected in self._shown:
            self.cursor_row = keys.index(selected)
        self.cursor_row = max(0, min(self.cursor_row, len(keys) - 1))
        self._resize_virtual()
        self.refresh()
        self._scroll_to_cursor()
        self._announce()

    def _resize_virtual(self) -> None:
        size = Size(self.table_width, len(self._keys) + 1)
        if self.virtual_size != size:
            self.virtual_size = size

    def _refresh_row(self, index: int) -> None:
        y = index + 1 - round(self.scroll_y)
        if 1 <= y < self.size.height:
            self.repainted_rows += 1
            self.refresh(Region(0, y, self.size.width, 1))

    def _announce(self) -> None:
        key = self.selected_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))

    # ---- cursor ----------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row `row` (clamped), scroll it into view and say so."""
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row != self.cursor_row:
            old = self.cursor_row
            self.cursor_row = row
            self._strips.pop(self._keys[old], None)
            self._strips.pop(self._keys[row], None)
            self._refresh_row(old)
            self._refresh_row(row)
        self._scroll_to_cursor()
        self._announce()

    def _scroll_to_cursor(self) -> None:
        visible = max(self.size.height - 1, 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(self.size.height - 1, 1))

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(self.size.height - 1, 1))

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self.move_cursor(offset.y - 1 + round(self.scroll_y))

    # ---- painting --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = {}
        self._header = None

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            strip = self._header_strip(max(width + scroll_x, self.table_width))
        else:
            index = y - 1 + round(self.scroll_y)
            if index >= len(self._keys):
                return Strip.blank(width, self.rich_style)
            strip = self._row_strip(
                self._keys[index], max(width + scroll_x, self.table_width), self.rich_style,
                index == self.cursor_row,
            )
        return strip.crop(scroll_x, scroll_x + width) if scroll_x or strip.cell_length > width \
            else strip

    def _header_strip(self, width: int) -> Strip:
        if self._header is None or self._header.cell_length != width:
            style = self.rich_style + self.get_component_rich_style("table--header")
            cells = tuple(Text(label) for label, _ in self._columns)
            self._header = self._render_cells(cells, width, style, Style())
        return self._header

    def _row_strip(self, key: str, width: int, base: Style, cursor: bool) -> Strip:
        kept = self._strips.get(key)
        if kept is not None and kept[:3] == (width, base, cursor):
            return kept[3]
        style = base
        post = Style()
        if cursor:
            cursor_style = self.get_component_rich_style("table--cursor")
            style = base + cursor_style
            # As DataTable did: the cursor's colour over the cells' own, their background kept.
            post = Style.from_color(color=cursor_style.color)
        strip = self._render_cells(self._shown[key], width, style, post)
        self._strips[key] = (width, base, cursor, strip)
        return strip

    def _render_cells(
        self, cells: tuple[Cell, ...], width: int, style: Style, post: Style
    ) -> Strip:
        """One line: each cell padded to its column, its own style (a colour) over `style`,
        and `post` over both."""
        console = self.app.console
        pad = " " * CELL_PADDING
        segments: list[Segment] = []
        for cell, (_, column_width) in zip(cells, self._columns, strict=False):
            if isinstance(cell, Text):
                # `Text.render` leaves out the text's own style: the console adds it.
                own = console.get_style(cell.style, default=Style())
                parts = [
                    Segment(text, own + part_style if part_style else own)
                    for text, part_style, _ in cell.render(console, end="") if text
                ]
            else:
                parts = [Segment(cell)]
            line = Segment.adjust_line_length(parts, column_width)
            segments.append(Segment(pad, style))
            segments.extend(
                Segment(text, style + part_style + post if part_style else style + post)
                for text, part_style, _ in line
            )
            segments.append(Segment(pad, style))
        return Strip(segments).adjust_cell_length(width, style).simplify()
