"""The movers table: the day's strongest symbols, their trend, densities and book health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from densitytui.engine.state import MoverRow
from densitytui.model import Trend
from densitytui.ui.ladder_rows import compact
from densitytui.ui.widgets.table import KEYS, Cell, SyncedTable

SPARK = "▁▂▃▄▅▆▇█"
SPARK_POINTS = 8


def sparkline(prices: Sequence[float], points: int = SPARK_POINTS) -> str:
    """The last `points` prices as block characters scaled between their low and high."""
    recent = list(prices)[-points:]
    if len(recent) < 2:
        return ""
    low, high = min(recent), max(recent)
    span = high - low
    if span <= 0:
        return SPARK[len(SPARK) // 2] * len(recent)
    return "".join(SPARK[round((p - low) / span * (len(SPARK) - 1))] for p in recent)


def mover_cells(row: MoverRow, palette: dict[str, str]) -> tuple[Cell, ...]:
    up, down = palette["up"], palette["down"]
    change = Text(f"{row.change_24h_pct:+.1f}%", style=up if row.change_24h_pct >= 0 else down)
    trend_style = {Trend.UP: f"bold {up}", Trend.DOWN: f"bold {down}", Trend.FLAT: "dim"}
    symbol = Text(row.symbol, style="bold" if row.has_position else "")
    return (
        str(row.rank),
        symbol,
        f"{row.last_price:.6g}",
        change,
        # A recording without tickers has no turnover: unknown, not zero.
        compact(row.turnover_24h) if row.turnover_24h > 0 else "-",
        Text(row.trend.value, style=trend_style[row.trend]),
        str(row.densities) if row.densities else "",
        "ok" if row.book_valid else Text("BAD", style=f"bold reverse {down}"),
        sparkline(row.prices),
    )


class MoversTable(SyncedTable):
    """Top gainers and losers; moving the cursor picks the symbol the ladder shows, and Enter
    opens it there (never a trade: confirm lives in the Signals pane)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.open_symbol, "open_symbol", "Open", id="open_symbol"),
    ]

    @dataclass
    class SymbolSelected(Message):
        """The trader moved to another symbol."""

        table: MoversTable
        symbol: str

        @property
        def control(self) -> MoversTable:
            return self.table

    @dataclass
    class SymbolOpened(Message):
        """The trader asked for the highlighted symbol on the main ladder (Enter)."""

        table: MoversTable
        symbol: str

        @property
        def control(self) -> MoversTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            # Symbol, 24 h change and trend never go; the sparkline goes first, then the rank,
            # the turnover, the density count, the book state and the last price.
            (("#", 2, 5), ("Symbol", 10), ("Last", 9, 1), ("24h", 7), ("Turnover", 8, 4),
             ("Trend", 5), ("D", 2, 3), ("Book", 4, 2), ("Price", SPARK_POINTS, 6)),
            id=id,
        )

    def show(self, movers: Sequence[MoverRow]) -> None:
        palette = self.palette()
        self.sync([(row.symbol, mover_cells(row, palette)) for row in movers])

    def action_open_symbol(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.SymbolOpened(self, key))

    def on_synced_table_row_highlighted(self, event: SyncedTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.SymbolSelected(self, event.key))
