"""The density screener: every tracked wall of every watched symbol in one sortable table.

A density trader scans walls across symbols, not one ladder at a time: where each wall is
(distance to the mid in %), how big (USDT, and as a multiple of its neighbours), how old, and
how it is going (erosion, eaten versus pulled, spoof). Enter opens its symbol on the ladder.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from densitytui.market.book import OrderBook
from densitytui.model import BookSide, Density
from densitytui.ui.ladder_rows import LadderSettings, compact, is_spoof
from densitytui.ui.widgets.positions import age
from densitytui.ui.widgets.table import KEYS, Cell, SyncedTable


@dataclass(slots=True, frozen=True)
class ScreenedDensity:
    """One wall as the screener shows it, with the figures it sorts by."""

    key: str
    symbol: str
    side: BookSide
    price: float
    distance_pct: float
    notional: float
    # Its size over the mean size of its nearest levels on the same side (0: no neighbours).
    multiple: float
    age_ms: int
    erosion: float
    eaten: float
    pulled: float
    spoof: bool
    confirmed: bool


def neighbour_multiple(book: OrderBook, density: Density, neighbours: int) -> float:
    """`density.size` over the mean size of the `neighbours` levels nearest to it on its side,
    its own levels (a cluster's range) left out: the density criterion's relative figure."""
    ladder = book.ladder(density.side)
    prices = ladder.prices
    low = density.price_low or density.price
    high = density.price_high or density.price
    inner, outer = bisect_left(prices, low), bisect_right(prices, high)
    below = prices[max(0, inner - neighbours):inner]
    above = prices[outer:outer + neighbours]
    nearest = sorted((*below, *above), key=lambda p: abs(p - density.price))[:neighbours]
    if not nearest:
        return 0.0
    mean = sum(ladder.size_of(p) for p in nearest) / len(nearest)
    return density.size / mean if mean > 0 else 0.0


def screen_densities(
    symbols: Iterable[str],
    book_of: Callable[[str], OrderBook | None],
    densities_of: Callable[[str], list[Density]],
    now_ms: int,
    settings: LadderSettings,
    neighbours: int,
) -> list[ScreenedDensity]:
    """The walls of `symbols` on their books now; a symbol without a valid mid is left out."""
    rows = []
    for symbol in symbols:
        book = book_of(symbol)
        mid = book.mid() if book is not None else None
        if book is None or not mid:
            continue
        for density in densities_of(symbol):
            lost = max(density.peak_size - density.size, 0.0)
            rows.append(ScreenedDensity(
                key=f"{symbol}:{density.id or density.price}",
                symbol=symbol,
                side=density.side,
                price=density.price,
                distance_pct=abs(density.price - mid) / mid * 100,
                notional=density.notional,
                multiple=neighbour_multiple(book, density, neighbours),
                age_ms=now_ms - density.first_seen,
                erosion=density.erosion,
                eaten=density.eaten / lost if lost > 0 else 0.0,
                pulled=density.pulled / lost if lost > 0 else 0.0,
                spoof=is_spoof(density, settings),
                confirmed=density.confirmed,
            ))
    return rows


# Sort orders the `s` key cycles through: (name, key, largest first).
SORTS: tuple[tuple[str, Callable[[ScreenedDensity], float], bool], ...] = (
    ("distance", lambda row: row.distance_pct, False),
    ("USDT", lambda row: row.notional, True),
    ("multiple", lambda row: row.multiple, True),
    ("age", lambda row: row.age_ms, True),
    ("erosion", lambda row: row.erosion, True),
)


def screened_cells(row: ScreenedDensity, palette: dict[str, str]) -> tuple[Cell, ...]:
    bid = row.side is BookSide.BID
    side = Text("BID" if bid else "ASK", style=f"bold {palette['up' if bid else 'down']}")
    lost = f"{row.eaten * 100:.0f}/{row.pulled * 100:.0f}" if row.eaten or row.pulled else ""
    flag = (
        Text("SPOOF", style=f"bold reverse {palette['down']}") if row.spoof
        else "" if row.confirmed else Text("new", style="dim")
    )
    return (
        row.symbol,
        side,
        f"{row.price:.6g}",
        f"{row.distance_pct:.2f}%",
        compact(row.notional),
        f"{row.multiple:.1f}x" if row.multiple else "",
        age(row.age_ms),
        f"{row.erosion * 100:.0f}%",
        lost,
        flag,
    )


class DensitiesTable(SyncedTable):
    """The screener's rows, sorted by the chosen figure; Enter opens the row's symbol."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.open_symbol, "open_symbol", "Open", id="open_symbol"),
        Binding(KEYS.sort_densities, "next_sort", "Sort", id="sort_densities"),
    ]

    @dataclass
    class SymbolOpened(Message):
        """The trader asked for the highlighted wall's symbol on the main ladder."""

        table: DensitiesTable
        symbol: str

        @property
        def control(self) -> DensitiesTable:
            return self.table

    @dataclass
    class SortChanged(Message):
        """The rows are sorted by another figure (the pane's title says which)."""

        table: DensitiesTable
        name: str

        @property
        def control(self) -> DensitiesTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            # Symbol, side, distance and size never go; then the flags stay longest.
            (("Symbol", 10), ("Side", 4), ("Price", 9, 3), ("Dist", 6), ("USDT", 7),
             ("x", 5, 2), ("Age", 5, 4), ("Eros", 4, 1), ("Eat/Pul", 7, 5), ("Flag", 5, 6)),
            id=id,
        )
        self.sort_index = 0
        self._rows: list[ScreenedDensity] = []

    @property
    def sort_name(self) -> str:
        return SORTS[self.sort_index][0]

    def show(self, rows: Sequence[ScreenedDensity]) -> None:
        self._rows = list(rows)
        _, key, largest_first = SORTS[self.sort_index]
        ordered = sorted(self._rows, key=key, reverse=largest_first)
        palette = self.palette()
        self.sync([(row.key, screened_cells(row, palette)) for row in ordered])

    def symbol_of(self, key: str) -> str | None:
        return next((row.symbol for row in self._rows if row.key == key), None)

    def action_next_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.show(self._rows)
        self.post_message(self.SortChanged(self, self.sort_name))

    def action_open_symbol(self) -> None:
        key = self.selected_key
        symbol = self.symbol_of(key) if key is not None else None
        if symbol is not None:
            self.post_message(self.SymbolOpened(self, symbol))
