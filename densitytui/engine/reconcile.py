"""Reconciliation as pure functions: what the store believes against what the venue reports.

The engine asks the venue (REST, or the paper account) for positions and open orders at start
and every `engine.reconcile_s`, and turns the differences into actions here. A venue position
unknown to the store is adopted; a stored position the venue no longer has was closed outside
the engine (a stop-loss or liquidation it did not hear about); any venue position without a
stop-loss must get one, or be closed. A failed request proves nothing: the caller skips the
cycle rather than reading a missing report as flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from densitytui.model import Position


@dataclass(frozen=True, slots=True)
class Adopt:
    """On the venue, not in the store: store it (it keeps the stop-loss it has)."""

    position: Position


@dataclass(frozen=True, slots=True)
class ClosedOutside:
    """In the store, flat on the venue: record the close."""

    stored: Position


@dataclass(frozen=True, slots=True)
class Protect:
    """On the venue without a stop-loss: set one now, or close at market if that fails."""

    position: Position
    stored: Position | None


@dataclass(frozen=True, slots=True)
class StopChanged:
    """The venue's stop-loss differs from the stored one (moved on the exchange): record it."""

    stored: Position
    venue_stop: float


@dataclass(frozen=True, slots=True)
class QtyChanged:
    """The venue's size differs from the stored one (a partial close outside the engine)."""

    stored: Position
    venue: Position


Action = Adopt | ClosedOutside | Protect | StopChanged | QtyChanged


def reconcile_positions(
    stored: Sequence[Position], venue: Sequence[Position], closing: frozenset[str] = frozenset(),
) -> list[Action]:
    """Actions that bring the store in line with the venue and every position under a stop.

    `closing` names symbols whose close the engine has in flight: a position there without a
    stop-loss is being flattened already, so it is not protected again.
    """
    actions: list[Action] = []
    live = {p.symbol: p for p in venue if p.qty > 0}
    known = {p.symbol: p for p in stored}
    for symbol, position in live.items():
        mine = known.get(symbol)
        if mine is None:
            actions.append(Adopt(position))
        elif mine.side is not position.side:
            actions.append(ClosedOutside(mine))
            actions.append(Adopt(position))
            mine = None
        else:
            if abs(mine.qty - position.qty) > 1e-12:
                actions.append(QtyChanged(mine, position))
            if position.protected and position.stop_loss != mine.stop_loss:
                actions.append(StopChanged(mine, position.stop_loss or 0.0))
        if not position.protected and symbol not in closing:
            actions.append(Protect(position, mine))
    for symbol, mine in known.items():
        if symbol not in live:
            actions.append(ClosedOutside(mine))
    return actions
