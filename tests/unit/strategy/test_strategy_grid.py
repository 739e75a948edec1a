"""Tick and step rounding against an exact decimal oracle, over many generated prices."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from densitytui.strategy.grid import ceil_to_step, floor_to_step, is_step_multiple

# Tick sizes and qty steps as Bybit lists them.
STEPS = ["0.00001", "0.0001", "0.001", "0.01", "0.1", "0.5", "1", "5", "10"]


def oracle(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding=rounding) * step


@settings(max_examples=400, deadline=None)
@given(
    units=st.integers(min_value=1, max_value=10**9),
    scale=st.integers(min_value=0, max_value=6),
    step_text=st.sampled_from(STEPS),
)
def test_rounding_matches_exact_decimal_arithmetic(units: int, scale: int, step_text: str) -> None:
    value = Decimal(units).scaleb(-scale)  # e.g. 61659.7, 0.000162, 100.041
    step = Decimal(step_text)
    off_grid = (value / step) % 1
    # Within a millionth of a step of the grid is treated as on it: keep the oracle to the rest.
    if Decimal("0") < off_grid < Decimal("1e-6") or off_grid > 1 - Decimal("1e-6"):
        return
    floor = floor_to_step(float(value), float(step))
    ceil = ceil_to_step(float(value), float(step))
    assert floor == float(oracle(value, step, ROUND_FLOOR))
    assert ceil == float(oracle(value, step, ROUND_CEILING))
    # The results print as the exchange expects: no binary noise digits.
    assert Decimal(repr(floor)) == oracle(value, step, ROUND_FLOOR)
    assert is_step_multiple(floor, float(step)) and is_step_multiple(ceil, float(step))
    assert floor <= float(value) <= ceil


@settings(max_examples=200, deadline=None)
@given(
    ticks=st.integers(min_value=1, max_value=10**7),
    step_text=st.sampled_from(STEPS),
    nudge=st.sampled_from([-1, 1]),
)
def test_grid_points_reached_by_float_arithmetic_stay_put(ticks: int, step_text: str,
                                                         nudge: int) -> None:
    step = float(step_text)
    # A grid point reached by adding or taking away one step in binary floating point.
    point = float(Decimal(ticks) * Decimal(step_text))
    computed = point + nudge * step - nudge * step
    assert floor_to_step(computed, step) == point
    assert ceil_to_step(computed, step) == point
