"""A movers row as the trader reads it: turnover unknown is a dash, never a zero."""

from __future__ import annotations

from densitytui.engine.state import MoverRow
from densitytui.model import Trend
from densitytui.ui.widgets.movers import mover_cells

PALETTE = {"up": "green", "down": "red"}


def _row(turnover: float) -> MoverRow:
    return MoverRow(1, "BTCUSDT", 61631.2, -8.1, turnover, Trend.DOWN, 2, True)


def test_turnover_is_compact_when_known_and_a_dash_when_the_data_has_none() -> None:
    assert mover_cells(_row(5.2e9), PALETTE)[4] == "5.20B"
    assert mover_cells(_row(351_280_000.0), PALETTE)[4] == "351.28M"
    # A recording without tickers (a replay) gives 0: unknown.
    assert mover_cells(_row(0.0), PALETTE)[4] == "-"
