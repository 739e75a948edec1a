"""A Line-API table that follows a list of rows by key, repainting only the rows that change.

The engine's snapshot is rebuilt a few times a second; the tables show it. `sync` diffs the new
rows against what is shown and repaints only the rows whose cells differ; only a new number of
rows changes the table's size (a layout). Each row is rendered straight to one `Strip` and kept
until its cells, the width or the styles change. Textual's DataTable rendered every cell through
Rich at about 0.7 ms a row, so a movers table that moves every second took over 10 ms of one
frame (the event loop's worst lag), and repainted whole for each changed cell.

It looks like the DataTable it replaced (header, row cursor, focus tint, the row under the
mouse highlighted until a key moves the cursor) and keeps its keys: up/down (remappable), page
up/down, home/end, left/right scroll; a click moves the cursor.
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
# A column that never goes, however narrow the table; others go highest priority number first.
KEEP = 0
Column = tuple[str, int] | tuple[str, int, int]


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

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "table--header", "table--cursor", "table--hover", "table--header-hover",
    }

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
        & > .table--header-hover {
            background: $accent 30%;
        }
        & > .table--hover {
            background: $block-hover-background;
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

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        # (label, width, priority): fixed widths, so a column never jumps as its numbers change;
        # when the table is narrower than all of them, columns go by priority (`fit_columns`).
        self._all_columns = tuple(
            (column[0], column[1], column[2] if len(column) > 2 else KEEP)  # type: ignore[misc]
            for column in columns
        )
        self._shown_columns = tuple(range(len(self._all_columns)))
        self._columns = tuple((label, width) for label, width, _ in self._all_columns)
        self._keys: list[str] = []
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self._all_changed = False
        self.cursor_row = 0
        self._highlighted: str | None = None
        # The row under the mouse (-1: the header), shown until a key moves the cursor.
        self._hover: int | None = None
        # Rendered rows by key, with what they were rendered for: (width, style, cursor, hover).
        self._strips: dict[str, tuple[tuple[int, Style, bool, bool], Strip]] = {}
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
    def column_labels(self) -> list[str]:
        """The labels of the columns shown at the current width."""
        return [label for label, _ in self._columns]

    def fit_columns(self, width: int) -> None:
        """Show the columns that fit in `width` cells: the lowest priority ones go first (the
        highest numbers), those marked KEEP never, so no key figure is ever cut off."""
        shown = set(range(len(self._all_columns)))

        def used() -> int:
            return sum(self._all_columns[i][1] + 2 * CELL_PADDING for i in shown)

        droppable = sorted(
            (i for i, column in enumerate(self._all_columns) if column[2] != KEEP),
            key=lambda i: (-self._all_columns[i][2], -i),
        )
        for index in droppable:
            if used() <= width:
                break
            shown.discard(index)
        ordered = tuple(sorted(shown))
        if ordered == self._shown_columns:
            return
        self._shown_columns = ordered
        self._columns = tuple(self._all_columns[i][:2] for i in ordered)  # type: ignore[misc]
        self._strips = {}
        self._header = None
        self._resize_virtual()
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def palette(self) -> dict[str, str]:
        """The theme's trading colours as Rich colours: `up` (bid side), `down` (ask side)."""
        variables = self.app.theme_variables
        return {"up": variables.get("bid", "green"), "down": variables.get("ask", "red")}

    def _forget_cells(self, _theme: object) -> None:
        """The next `sync` repaints every row: the cells carry the old theme's colours."""
        self._all_changed = True

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None when the table is empty."""
        return self._keys[self.cursor_row] if self._keys else None

    # ---- rows ------------------------------------------------------------------------------

    def sync(self, rows: Sequence[tuple[str, tuple[Cell, ...]]]) -> None:
        """Show exactly `rows` (key, cells) in this order, repainting only what changed; the
        cursor stays on its key while the key is shown, else goes to the first row."""
        keys = [key for key, _ in rows]
        all_changed, self._all_changed = self._all_changed, False
        if keys == self._keys:
            for index, (key, cells) in enumerate(rows):
                if all_changed or self._shown[key] != cells:
                    self._shown[key] = cells
                    self._strips.pop(key, None)
                    self._refresh_row(index)
            return
        selected = self.selected_key
        self._keys = keys
        self._shown = dict(rows)
        self._strips = {}
        # As DataTable did after a rebuild: the first row when the selected one is gone.
        self.cursor_row = keys.index(selected) if selected in self._shown else 0
        self._resize_virtual()
        self.refresh()
        self._scroll_to_cursor()
        self._announce()

    def _resize_virtual(self) -> None:
        size = Size(self.table_width, len(self._keys) + 1)
        if self.virtual_size != size:
            self.virtual_size = size

    def _refresh_row(self, index: int) -> None:
        y = 0 if index < 0 else index + 1 - round(self.scroll_y)
        if 0 <= y < self.size.height and (y or index < 0):
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

    def select_key(self, key: str) -> bool:
        """Put the cursor on the row of `key`; False when no row has it."""
        if key not in self._shown:
            return False
        self.move_cursor(self._keys.index(key))
        return True

    def _scroll_to_cursor(self) -> None:
        visible = max(self.size.height - 1, 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def _key_move(self, row: int) -> None:
        """A key moves the cursor: the mouse's row is no longer highlighted."""
        self._set_hover(None)
        self.move_cursor(row)

    def action_cursor_down(self) -> None:
        self._key_move(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self._key_move(self.cursor_row - 1)

    def action_page_down(self) -> None:
        self._key_move(self.cursor_row + max(self.size.height - 1, 1))

    def action_page_up(self) -> None:
        self._key_move(self.cursor_row - max(self.size.height - 1, 1))

    def action_first_row(self) -> None:
        self._key_move(0)

    def action_last_row(self) -> None:
        self._key_move(len(self._keys) - 1)

    def _row_at(self, event: events.MouseEvent) -> int | None:
        """The row index under the mouse, -1 for the header, None past the rows."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        if offset.y == 0:
            return -1
        row = offset.y - 1 + round(self.scroll_y)
        return row if row < len(self._keys) else None

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is not None and row >= 0:
            self.move_cursor(row)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._row_at(event))

    def on_leave(self, _event: events.Leave) -> None:
        self._set_hover(None)

    def _set_hover(self, row: int | None) -> None:
        if row == self._hover:
            return
        old, self._hover = self._hover, row
        for index in (old, row):
            if index is not None:
                self._refresh_row(index)

    # ---- painting --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = {}
        self._header = None

    def on_resize(self) -> None:
        self.fit_columns(self.size.width)
        self._scroll_to_cursor()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            strip = self._header_strip(max(width + scroll_x, self.table_width), self._hover == -1)
        else:
            index = y - 1 + round(self.scroll_y)
            if index >= len(self._keys):
                return Strip.blank(width, self.rich_style)
            strip = self._row_strip(
                self._keys[index], max(width + scroll_x, self.table_width), self.rich_style,
                index == self.cursor_row, index == self._hover,
            )
        return strip.crop(scroll_x, scroll_x + width) if scroll_x or strip.cell_length > width \
            else strip

    def _header_strip(self, width: int, hover: bool) -> Strip:
        cells = tuple(Text(label) for label, _ in self._columns)
        style = self.rich_style + self.get_component_rich_style("table--header")
        if hover:
            component = self.get_component_rich_style("table--hover", "table--header-hover")
            return self._render_cells(
                cells, width, style + component, Style.from_color(color=component.color)
            )
        if self._header is None or self._header.cell_length != width:
            self._header = self._render_cells(cells, width, style, Style())
        return self._header

    def _row_strip(self, key: str, width: int, base: Style, cursor: bool, hover: bool) -> Strip:
        look = (width, base, cursor, hover)
        kept = self._strips.get(key)
        if kept is not None and kept[0] == look:
            return kept[1]
        component = Style()
        if hover:
            component += self.get_component_rich_style("table--hover")
        if cursor:
            component += self.get_component_rich_style("table--cursor")
        # As DataTable did: the cursor's or hover's colour over the cells' own colours.
        post = Style.from_color(color=component.color) if cursor or hover else Style()
        strip = self._render_cells(self._shown[key], width, base + component, post)
        self._strips[key] = (look, strip)
        return strip

    def _render_cells(
        self, cells: tuple[Cell, ...], width: int, style: Style, post: Style
    ) -> Strip:
        """One line: each cell padded to its column, its own style (a colour) over `style`,
        and `post` over both."""
        console = self.app.console
        pad = " " * CELL_PADDING
        segments: list[Segment] = []
        if len(self._shown_columns) < len(cells):
            cells = tuple(cells[i] for i in self._shown_columns if i < len(cells))
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
