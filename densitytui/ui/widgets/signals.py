"""Pending signals: what the strategy proposes, each with the time it has left as a bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from densitytui.engine.state import PendingSignal
from densitytui.model import Side
from densitytui.ui.ladder_rows import compact
from densitytui.ui.widgets.table import KEYS, Cell, SyncedTable

BAR_WIDTH = 8


def time_left_bar(left_ms: int, ttl_ms: int, width: int = BAR_WIDTH) -> str:
    """`█████░░░ 37s`: the share of the time to live that is left, and the seconds."""
    share = max(0.0, min(1.0, left_ms / ttl_ms)) if ttl_ms > 0 else 0.0
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {max(left_ms, 0) // 1000}s"


def signal_cells(
    pending: PendingSignal, now_ms: int, palette: dict[str, str]
) -> tuple[Cell, ...]:
    signal = pending.signal
    long = signal.side is Side.BUY
    side = Text("LONG" if long else "SHORT", style=f"bold {palette['up' if long else 'down']}")
    kind = signal.kind.value + ("*" if signal.new_territory else "")
    # The density behind the signal is gone: the engine refuses it (check 9); say so.
    density: Cell = (
        compact(pending.density_notional) if pending.density_notional > 0
        else Text("gone", style=f"bold reverse {palette['down']}")
    )
    return (
        signal.symbol,
        kind,
        side,
        f"{signal.entry_price:.6g}",
        f"{signal.stop_loss:.6g}",
        f"{pending.distance_pct:.2f}%",
        density,
        f"{pending.density_erosion * 100:.0f}%",
        # A signal the default size can never trade says why instead of counting down.
        Text(pending.cannot_trade, style=f"bold {palette['down']}") if pending.cannot_trade
        else time_left_bar(pending.expires_at - now_ms, signal.ttl_ms),
    )


class SignalsTable(SyncedTable):
    """One row per pending signal, keyed by signal id; the cursor picks the one to confirm.

    Confirm and reject live here and nowhere else: the highlighted row is the trade, so a key
    pressed in another pane never trades what the trader is not looking at. A mouse click only
    moves the cursor, so no trade is ever one click away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEYS.confirm_signal, "screen.confirm_signal", "Confirm", id="confirm_signal"),
        Binding(KEYS.reject_signal, "screen.reject_signal", "Reject", id="reject_signal"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            # Symbol, side and the time left never go; the stop goes first, then the kind, the
            # density's size, the distance, the entry and the erosion.
            (("Symbol", 10), ("Kind", 9, 5), ("Side", 5), ("Entry", 9, 2), ("Stop", 9, 6),
             ("Dist", 6, 3), ("Dens", 7, 4), ("Eros", 4, 1), ("Left", BAR_WIDTH + 4)),
            id=id,
        )

    def show(self, signals: Sequence[PendingSignal], now_ms: int) -> None:
        palette = self.palette()
        self.sync([(p.signal.id, signal_cells(p, now_ms, palette)) for p in signals])
