"""What each row of a ladder shows, computed from a book and its densities without Textual.

The ladder widget repaints at 10-20 Hz; everything here is plain values so a row can be compared
with the row painted last time and only the rows that differ are drawn again. Rows are centred
on the touch: asks above (best ask lowest), one spread row, bids below (best bid highest).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from densitytui.market.book import OrderBook
from densitytui.market.spoof import is_spoof as market_spoof
from densitytui.model import BookSide, Density, Position

# Steps of density intensity: notional at least 1x, 2x and 5x the absolute threshold.
INTENSITY_STEPS = (1.0, 2.0, 5.0)


class RowKind(IntEnum):
    ASK = 0
    BID = 1
    SPREAD = 2
    EMPTY = 3


class Mark(IntEnum):
    """What a row carries besides its level, drawn at its right edge."""

    NONE = 0
    ENTRY = 1
    STOP = 2


@dataclass(slots=True, frozen=True)
class LadderRow:
    """One painted row; equal rows paint identically, so equality decides what to repaint."""

    kind: RowKind
    price: str = ""
    size: str = ""
    # The size bar, in cells out of `bar_cells` (the largest plain level fills them all), so a
    # size change that moves no cell does not repaint the row.
    bar: int = 0
    # 0: no density; 1..3: a density (or a cluster's level) of growing notional.
    intensity: int = 0
    # The density's figures, on its own row only: notional, erosion, eaten/pulled.
    tag: str = ""
    spoof: bool = False
    frozen: bool = False
    mark: Mark = Mark.NONE
    mark_text: str = ""


@dataclass(slots=True, frozen=True)
class LadderSettings:
    """The numbers a ladder needs from the strategy config to judge what it draws."""

    min_notional_usdt: float = 50_000.0
    spoof_pulled_pct: float = 60.0
    change_report_pct: float = 10.0


def compact(value: float) -> str:
    """`1.23M`, `45.6K`, `0.0520`: at most six characters for sizes and notionals."""
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:.2f}B"
    if magnitude >= 1e6:
        return f"{value / 1e6:.2f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.1f}K"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def is_spoof(density: Density, settings: LadderSettings) -> bool:
    """The tracker's spoof rule (`market.spoof`) with the configured shares."""
    return market_spoof(
        density, settings.spoof_pulled_pct / 100, settings.change_report_pct / 100,
    )


def density_tag(density: Density, settings: LadderSettings) -> str:
    """`$1.2M e35% 80/20`: notional, erosion, and eaten/pulled shares of what it lost."""
    tag = f"${compact(density.notional)}"
    if density.erosion >= 0.005:
        tag += f" e{density.erosion * 100:.0f}%"
    lost = density.eaten + density.pulled
    if lost > 0:
        tag += f" {density.eaten / lost * 100:.0f}/{density.pulled / lost * 100:.0f}"
    if is_spoof(density, settings):
        tag += " SPOOF"
    if density.frozen:
        tag += " frozen"
    elif not density.confirmed:
        tag += " new"
    return tag


def _intensity(density: Density, settings: LadderSettings) -> int:
    ratio = density.notional / settings.min_notional_usdt if settings.min_notional_usdt else 1.0
    return max(1, sum(1 for step in INTENSITY_STEPS if ratio >= step))


def _edges(density: Density) -> tuple[float, float]:
    """A cluster's range; a density the tracker has not given edges yet covers its price."""
    if density.price_low > 0 and density.price_high > 0:
        return density.price_low, density.price_high
    return density.price, density.price


def build_rows(
    book: OrderBook | None,
    densities: list[Density],
    position: Position | None,
    height: int,
    settings: LadderSettings,
    bar_cells: int = 100,
) -> list[LadderRow]:
    """`height` rows of the book centred on the touch, with densities and the position drawn."""
    if height <= 0:
        return []
    if book is None or not book.bids.prices or not book.asks.prices:
        rows = [LadderRow(RowKind.EMPTY)] * height
        rows[height // 2] = LadderRow(RowKind.SPREAD, tag="waiting for the book")
        return rows
    above = (height - 1) // 2
    below = height - 1 - above
    asks = book.asks.top(above)
    bids = book.bids.top(below)
    places = book.price_decimals
    levels = [(RowKind.ASK, price, size) for price, size in reversed(asks)]
    levels.extend((RowKind.BID, price, size) for price, size in bids)
    prices = [price for _, price, _ in levels]

    intensity = [0] * len(levels)
    tags = [""] * len(levels)
    spoof = [False] * len(levels)
    frozen = [False] * len(levels)
    for density in densities:
        kind = RowKind.BID if density.side is BookSide.BID else RowKind.ASK
        side_rows = [i for i, (row_kind, _, _) in enumerate(levels) if row_kind is kind]
        low, high = _edges(density)
        if not side_rows or not _shown(density.price, [prices[i] for i in side_rows]):
            continue
        strength = _intensity(density, settings)
        for i in side_rows:
            if low <= prices[i] <= high:
                intensity[i] = max(intensity[i], strength)
                frozen[i] = frozen[i] or density.frozen
        nearest = min(side_rows, key=lambda i: abs(prices[i] - density.price))
        intensity[nearest] = max(intensity[nearest], strength)
        tags[nearest] = density_tag(density, settings)
        spoof[nearest] = is_spoof(density, settings)
        frozen[nearest] = frozen[nearest] or density.frozen

    marks = [(Mark.NONE, "")] * len(levels)
    if position is not None:
        targets = [(Mark.ENTRY, "entry", position.entry_price)]
        if position.protected:
            targets.append((Mark.STOP, "stop", position.stop_loss or 0.0))
        for mark, label, price in targets:
            i = min(range(len(prices)), key=lambda j: abs(prices[j] - price))
            arrow = "↑" if price > max(prices) else "↓" if price < min(prices) else "◀"
            marks[i] = (mark, f"{arrow}{label} {price:g}")

    # Bars scale to the largest plain level, so one wall does not flatten every other bar.
    plain = [size for i, (_, _, size) in enumerate(levels) if not intensity[i]]
    largest = max(plain or [size for _, _, size in levels])
    rows = [
        LadderRow(
            kind,
            f"{price:.{places}f}" if places >= 0 else f"{price:g}",
            compact(size),
            min(bar_cells, round(size / largest * bar_cells)) if largest > 0 else 0,
            intensity[i],
            tags[i],
            spoof[i],
            frozen[i] or not book.valid,
            marks[i][0],
            marks[i][1],
        )
        for i, (kind, price, size) in enumerate(levels)
    ]
    rows.insert(len(asks), _spread_row(book, asks[0][0], bids[0][0]))
    rows.extend([LadderRow(RowKind.EMPTY)] * (height - len(rows)))
    return rows


def _shown(price: float, side_prices: list[float]) -> bool:
    """Whether `price` lies among the levels shown on one side (not beyond the deepest one)."""
    return min(side_prices) <= price <= max(side_prices)


def _spread_row(book: OrderBook, best_ask: float, best_bid: float) -> LadderRow:
    if not book.valid:
        return LadderRow(RowKind.SPREAD, tag="BOOK INVALID: waiting for a snapshot", frozen=True)
    spread = best_ask - best_bid
    mid = (best_ask + best_bid) / 2
    places = book.price_decimals
    shown = f"{spread:.{places}f}" if places >= 0 else f"{spread:.6g}"
    return LadderRow(RowKind.SPREAD, tag=f"spread {shown} ({spread / mid * 100:.3f}%)")
