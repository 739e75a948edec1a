"""Reconciliation: what the store believes against what the venue reports."""

from __future__ import annotations

from densitytui.engine.reconcile import (
    Adopt,
    ClosedOutside,
    Protect,
    QtyChanged,
    StopChanged,
    reconcile_positions,
)
from densitytui.model import Position, Side


def pos(symbol: str, side: Side = Side.BUY, qty: float = 1.0, stop: float | None = 95.0) -> Position:
    return Position(symbol, side, qty, 100.0, 1, "sim", stop_loss=stop)


def test_in_step_nothing_to_do() -> None:
    assert reconcile_positions([pos("A"), pos("B", Side.SELL, stop=105.0)],
                               [pos("A"), pos("B", Side.SELL, stop=105.0)]) == []


def test_unknown_venue_position_is_adopted_and_protected_when_bare() -> None:
    bare = pos("A", stop=None)
    assert reconcile_positions([], [bare]) == [Adopt(bare), Protect(bare, None)]
    covered = pos("B")
    assert reconcile_positions([], [covered]) == [Adopt(covered)]


def test_a_stored_position_flat_on_the_venue_was_closed_outside() -> None:
    stored = pos("A")
    assert reconcile_positions([stored], []) == [ClosedOutside(stored)]
    assert reconcile_positions([stored], [pos("A", qty=0.0)]) == [ClosedOutside(stored)]


def test_a_flipped_side_is_a_close_and_a_new_position() -> None:
    stored, flipped = pos("A"), pos("A", Side.SELL, stop=105.0)
    assert reconcile_positions([stored], [flipped]) == [ClosedOutside(stored), Adopt(flipped)]


def test_stop_and_size_changes_are_recorded_and_a_lost_stop_is_protected() -> None:
    stored = pos("A")
    moved = pos("A", qty=0.5, stop=99.0)
    assert reconcile_positions([stored], [moved]) == [
        QtyChanged(stored, moved), StopChanged(stored, 99.0),
    ]
    lost = pos("A", stop=None)
    assert reconcile_positions([stored], [lost]) == [Protect(lost, stored)]


def test_a_position_being_closed_is_not_protected_again() -> None:
    bare = pos("A", stop=None)
    assert reconcile_positions([bare], [bare], closing=frozenset({"A"})) == []
