"""Open trades as the engine follows them: the stored position, what opened it, how it closes.

A trade is the stored position plus what the exits need (the signal kind and the density
behind it) and the accounting of its close: exit fills arrive from the venue's private stream
(or the close order's answer) and are summed here, so the realized PnL stored with the closed
position is computed from prices and fees the venue reported, on both legs.
"""

from __future__ import annotations

from dataclasses import dataclass

from densitytui.model import BookSide, Fill, Position, SignalKind


@dataclass(slots=True)
class OpenTrade:
    """One open position under the engine's care."""

    position: Position
    # None for a position adopted from the venue: only the stop-loss guards it, no exit rules.
    kind: SignalKind | None = None
    density_id: int = 0
    # The wall of a bounce resumed after a restart, by side and price: density ids belong to
    # one process's tracker, so the wall is found again in the new one (None otherwise).
    wall: tuple[BookSide, float] | None = None
    entry_link_id: str = ""
    entry_fee: float = 0.0
    # The reason of a close the engine has sent ("" while none is in flight).
    closing: str = ""
    breakeven: bool = False
    exit_qty: float = 0.0
    exit_value: float = 0.0
    exit_fees: float = 0.0
    # Message time of the last exit evaluation (exits are judged at most every few ms).
    last_exit_check: int = 0
    # Clock time from which the engine knows the entry's fill: no exit is judged before it.
    known_at: int = 0

    @property
    def symbol(self) -> str:
        return self.position.symbol

    @property
    def position_id(self) -> int:
        assert self.position.id is not None
        return self.position.id

    def add_exit_fill(self, fill: Fill) -> bool:
        """Count a fill that reduces the position; False for a fill of the entry or other side."""
        if fill.side is self.position.side or fill.order_link_id == self.entry_link_id:
            return False
        self.exit_qty += fill.qty
        self.exit_value += fill.price * fill.qty
        self.exit_fees += fill.fee
        return True

    def settle(
        self, fallback_exit_price: float, fallback_fee: float = 0.0,
    ) -> tuple[float, float, float]:
        """(exit price, realized PnL after fees, total fees) of the whole position.

        The exit price is the size-weighted price of the exit fills seen, else the fallback
        (the close order's price, the venue's exit price or the last price) for the part not
        seen; the fallback fee (the close order's) counts for that part too."""
        position = self.position
        qty = position.qty
        seen = min(self.exit_qty, qty)
        unseen = qty - seen
        value = (self.exit_value / self.exit_qty) * seen if self.exit_qty > 0 else 0.0
        value += fallback_exit_price * unseen
        exit_price = value / qty if qty > 0 else fallback_exit_price
        gross = (exit_price - position.entry_price) * qty * position.side.sign
        fees = self.entry_fee + self.exit_fees
        if qty > 0 and unseen > 0:
            fees += fallback_fee * unseen / qty
        return exit_price, gross - fees, fees
