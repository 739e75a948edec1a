"""Open positions: size, prices, PnL, the stop (marked when at break-even) and age."""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from densitytui.model import Position, Side
from densitytui.ui.widgets.table import KEYS, Cell, SyncedTable


def age(ms: int) -> str:
    """`42s`, `13m`, `2h05`."""
    seconds = max(ms, 0) // 1000
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def pnl_pct(position: Position) -> float:
    if not position.entry_price or not position.mark_price:
        return 0.0
    move = (position.mark_price - position.entry_price) / position.entry_price * 100
    return move * position.side.sign


def position_cells(
    position: Position, breakeven: bool, now_ms: int, palette: dict[str, str]
) -> tuple[Cell, ...]:
    pct = pnl_pct(position)
    long = position.side is Side.BUY
    colour = palette["up" if position.unrealized_pnl >= 0 else "down"]
    stop = f"{position.stop_loss:.6g}" if position.protected else "NONE"
    return (
        position.symbol,
        Text("LONG" if long else "SHORT", style=f"bold {palette['up' if long else 'down']}"),
        f"{position.qty:g}",
        f"{position.entry_price:.6g}",
        f"{position.mark_price:.6g}" if position.mark_price else "",
        Text(f"{pct:+.2f}%", style=colour),
        Text(f"{position.unrealized_pnl:+.2f}", style=colour),
        Text(
            stop + (" BE" if breakeven else ""),
            style="" if position.protected else f"bold reverse {palette['down']}",
        ),
        age(now_ms - position.opened_at),
    )


class PositionsTable(SyncedTable):
    """One row per open position, keyed by symbol; the cursor picks the one `c` closes (only
    here: the highlighted row is the position closed)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.close_position, "screen.close_position", "Close", id="close_position"),
    ]
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            # Symbol, side, PnL and the stop never go (they fit the 40 cells of an 80x24 pane);
            # the quantity goes first, then the mark, the entry, PnL % and the age.
            (("Symbol", 10), ("Side", 5), ("Qty", 8, 5), ("Entry", 9, 3), ("Mark", 9, 4),
             ("PnL%", 7, 2), ("PnL", 7), ("Stop", 10), ("Age", 5, 1)),
            id=id,
        )

    def show(self, positions: Sequence[Position], breakeven: Set[str], now_ms: int) -> None:
        palette = self.palette()
        self.sync(
            [
                (p.symbol, position_cells(p, p.symbol in breakeven, now_ms, palette))
                for p in positions
            ]
        )
