"""The order-book ladder: a Line-API widget that repaints only the rows that changed.

Book messages arrive at stream rate; the ladder pulls the latest book on a timer (10-20 Hz, latest
wins), builds its rows as plain values (`ladder_rows`), compares them with the rows on screen and
refreshes just the differing lines. Each row's `Strip` is cached by row content and width, and the
cache is cleared when styles (the theme) change. Colours come from component classes fed by theme
variables (`$bid`, `$ask`, `$bid-density`...), never from the code.
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar, Protocol

from rich.segment import Segment
from rich.style import Style
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from densitytui.market.book import OrderBook
from densitytui.model import Density, Position
from densitytui.ui.ladder_rows import LadderRow, LadderSettings, Mark, RowKind, build_rows

PRICE_WIDTH = 10
SIZE_WIDTH = 7
COMPACT_PRICE_WIDTH = 9
COMPACT_SIZE_WIDTH = 6
# Strips kept per ladder: two screens' worth of rows across a few widths is plenty.
CACHE_LIMIT = 512


class BookSource(Protocol):
    """Where a ladder reads books and densities: the trading engine, or a bare market engine."""

    def book(self, symbol: str) -> OrderBook | None: ...

    def densities(self, symbol: str) -> list[Density]: ...


class Ladder(Widget):
    """One symbol's book centred on the touch, densities highlighted, the open position drawn."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ladder--ask",
        "ladder--bid",
        "ladder--ask-bar",
        "ladder--bid-bar",
        "ladder--ask-density-1",
        "ladder--ask-density-2",
        "ladder--ask-density-3",
        "ladder--bid-density-1",
        "ladder--bid-density-2",
        "ladder--bid-density-3",
        "ladder--tag",
        "ladder--spoof",
        "ladder--frozen",
        "ladder--entry",
        "ladder--stop",
        "ladder--spread",
    }

    DEFAULT_CSS = """
    Ladder {
        height: 1fr;
        background: $surface;
    }
    Ladder > .ladder--ask { color: $ask; }
    Ladder > .ladder--bid { color: $bid; }
    Ladder > .ladder--ask-bar { background: $ask 18%; }
    Ladder > .ladder--bid-bar { background: $bid 18%; }
    Ladder > .ladder--ask-density-1 { background: $ask-density 35%; color: $foreground; }
    Ladder > .ladder--ask-density-2 { background: $ask-density 60%; color: $foreground; }
    Ladder > .ladder--ask-density-3 { background: $ask-density; color: $background; }
    Ladder > .ladder--bid-density-1 { background: $bid-density 35%; color: $foreground; }
    Ladder > .ladder--bid-density-2 { background: $bid-density 60%; color: $foreground; }
    Ladder > .ladder--bid-density-3 { background: $bid-density; color: $background; }
    Ladder > .ladder--tag { color: $density; text-style: bold; }
    Ladder > .ladder--spoof { color: $warning; text-style: bold italic; }
    Ladder > .ladder--frozen { color: $text-muted; text-style: italic; }
    Ladder > .ladder--entry { color: $entry; text-style: bold; }
    Ladder > .ladder--stop { color: $stop; text-style: bold; }
    Ladder > .ladder--spread { color: $text-muted; }
    """

    def __init__(
        self,
        source: BookSource | None = None,
        *,
        refresh_hz: float | None = 15.0,
        settings: LadderSettings | None = None,
        compact: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.source = source
        self.symbol: str | None = None
        self.position: Position | None = None
        self.settings = settings or LadderSettings()
        # Its own pull timer; None when a parent pulls several ladders in one frame.
        self.refresh_hz = refresh_hz
        self.compact = compact
        self.border_title = "Book"
        # Rows on screen, by line; compared with the next build to find what to repaint.
        self._rows: list[LadderRow] = []
        # Strips by (row, width): a row that comes back (a level flickering) costs nothing.
        self._strips: dict[tuple[LadderRow, int], Strip] = {}
        # Resolved component styles; None until first needed after a style change.
        self._styles: dict[str, Style] | None = None
        self.repainted_rows = 0

    # ---- calls from the app ----------------------------------------------------------------

    def show(self, symbol: str | None) -> None:
        """Switch to another symbol; its rows replace the old ones at the next pull."""
        if symbol != self.symbol:
            self.symbol = symbol
            self.border_title = symbol or "Book"
            if isinstance(self.parent, LadderFrame):
                self.parent.border_title = self.border_title
            self.pull()

    def set_position(self, position: Position | None) -> None:
        """Draw this open position's entry and stop (None: no position on the symbol)."""
        self.position = position

    # ---- painting --------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.refresh_hz is not None:
            self.set_interval(1 / self.refresh_hz, self.pull)

    def on_resize(self) -> None:
        self._rows = []
        self.pull()
        self.refresh()

    def pull(self) -> None:
        """Read the latest book and densities, and repaint the rows that differ from the screen."""
        height = self.size.height
        if height <= 0:
            return
        book = densities = None
        if self.source is not None and self.symbol is not None:
            book = self.source.book(self.symbol)
            densities = self.source.densities(self.symbol)
        rows = build_rows(
            book, densities or [], self.position, height, self.settings,
            self._area_width(self.size.width),
        )
        old = self._rows
        self._rows = rows
        width = self.size.width
        start = -1
        for y, row in enumerate(rows):
            same = y < len(old) and old[y] == row
            if not same and start < 0:
                start = y
            elif same and start >= 0:
                self._repaint(start, y, width)
                start = -1
        if start >= 0:
            self._repaint(start, len(rows), width)

    def _repaint(self, start: int, end: int, width: int) -> None:
        self.repainted_rows += end - start
        self.refresh(Region(0, start, width, end - start))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._styles = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = self._rows[y] if y < len(self._rows) else LadderRow(RowKind.EMPTY)
        key = (row, width)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) >= CACHE_LIMIT:
                self._strips.clear()
            strip = self._strips[key] = self._render_row(row, width)
        return strip

    def _style(self, name: str) -> Style:
        if self._styles is None:
            self._styles = {"": self.rich_style}
            for component in self.COMPONENT_CLASSES:
                self._styles[component] = self.get_component_rich_style(component)
        return self._styles[name]

    def _columns(self) -> tuple[int, int]:
        if self.compact:
            return COMPACT_PRICE_WIDTH, COMPACT_SIZE_WIDTH
        return PRICE_WIDTH, SIZE_WIDTH

    def _area_width(self, width: int) -> int:
        """Cells right of the price and size columns: the bar, the tag and the marks."""
        price_width, size_width = self._columns()
        return max(width - price_width - size_width - 2, 0)

    def _render_row(self, row: LadderRow, width: int) -> Strip:
        base = self._style("")
        if row.kind is RowKind.EMPTY:
            return Strip.blank(width, base)
        if row.kind is RowKind.SPREAD:
            style = self._style("ladder--frozen" if row.frozen else "ladder--spread")
            return Strip([Segment(row.tag[:width].center(width), base + style)], width)
        side = "ask" if row.kind is RowKind.ASK else "bid"
        price_width, size_width = self._columns()
        level_style = base + self._style(f"ladder--{side}")
        if row.intensity:
            level_style += self._style(f"ladder--{side}-density-{row.intensity}")
        if row.frozen:
            level_style += self._style("ladder--frozen")
        price = row.price[:price_width].rjust(price_width)
        size = row.size[:size_width].rjust(size_width)
        if row.intensity:
            # A density's highlight covers its price and size, not the gaps between them.
            segments = [
                Segment(price, level_style), Segment(" ", base),
                Segment(size, level_style), Segment(" ", base),
            ]
        else:
            # On the surface's own background a gap looks the same in either style: one span
            # instead of four writes a third less of the row to the terminal.
            segments = [Segment(f"{price} {size} ", level_style)]
        segments.extend(self._area_segments(row, side, self._area_width(width)))
        return Strip(segments).adjust_cell_length(width, base)

    def _area_segments(self, row: LadderRow, side: str, area: int) -> list[Segment]:
        """The size bar, the density tag over its left end, the position mark at its right."""
        base = self._style("")
        bar_style = base + self._style(f"ladder--{side}-bar")
        bar = min(area, row.bar)
        mark = row.mark_text[:area]
        tag = row.tag[: max(area - len(mark) - 1, 0)] if mark else row.tag[:area]
        tag_style = self._style("ladder--spoof" if row.spoof else "ladder--tag")
        mark_style = self._style("ladder--entry" if row.mark is Mark.ENTRY else "ladder--stop")
        # Cut the area where any style changes, and give each span its bar and text styles.
        text = tag.ljust(area - len(mark)) + mark
        cuts = sorted({0, len(tag), bar, area - len(mark), area})
        segments = []
        for start, end in pairwise(cuts):
            if start >= end:
                continue
            style = bar_style if start < bar else base
            if start < len(tag):
                style += tag_style
            elif mark and start >= area - len(mark):
                style += mark_style
            segments.append(Segment(text[start:end], style))
        return segments


class LadderFrame(Vertical):
    """A ladder's border and title, drawn by a container around a borderless ladder.

    Textual writes a repainted line of a widget from the widget's left edge: inside its own
    border every repainted row wrote the border's cell and its colour codes again, a fifth
    of what the ladder sent to the terminal. The ladder keeps its title here (`Ladder.show`)."""

    DEFAULT_CSS = """
    LadderFrame {
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $primary;
        border-title-style: bold;
        background: $surface;
    }
    """

    def __init__(self, ladder: Ladder, *, id: str | None = None) -> None:
        super().__init__(ladder, id=id)
        self.ladder = ladder
        self.border_title = ladder.border_title
