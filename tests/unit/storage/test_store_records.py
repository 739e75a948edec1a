"""Every field of a stored model type has its column: a field added to the model is not lost."""

from __future__ import annotations

from dataclasses import fields

import pytest

from densitytui.model import (
    AppEvent,
    CoinParameters,
    Density,
    DensityEvent,
    Fill,
    Instrument,
    MarketStats,
    Order,
    Position,
    PositionEvent,
    Signal,
)
from densitytui.storage.records import (
    CoinParametersRow,
    DensityRow,
    EventRow,
    FillRow,
    MarketStatsRow,
    OrderRow,
    PositionEventRow,
    PositionRow,
    Row,
    SignalRow,
)

# Model fields stored under another name, or held by a nested record that has its own columns.
RENAMED = {
    (Density, "id"): "density_id",
    (DensityEvent, "density"): None,
    (CoinParameters, "instrument"): None,
}


@pytest.mark.parametrize(
    ("model", "row"),
    [
        (Signal, SignalRow), (Order, OrderRow), (Fill, FillRow), (Position, PositionRow),
        (PositionEvent, PositionEventRow), (Density, DensityRow), (DensityEvent, DensityRow),
        (AppEvent, EventRow), (MarketStats, MarketStatsRow), (Instrument, CoinParametersRow),
        (CoinParameters, CoinParametersRow),
    ],
    ids=lambda value: value.__name__,
)
def test_every_field_has_a_column(model: type, row: type[Row]) -> None:
    columns = set(row.model_fields)
    missing = [
        field.name
        for field in fields(model)
        if (column := RENAMED.get((model, field.name), field.name)) is not None
        and column not in columns
    ]
    assert missing == [], f"{model.__name__} fields not stored in {row.TABLE}: {missing}"
