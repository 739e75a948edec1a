"""Rounding prices to the tick grid and quantities to the qty step, without float noise.

`100.05 - 0.01` is `100.03999999999999` in binary floating point; a plain floor would put it on
100.03. So a value within a hair (1e-9 of a step, plus 1e-12 relative) of a grid point counts
as on it, and the result is built from the integer step count in decimal so that it prints as
the exchange expects (`0.003`, never `0.0030000000000000001`).
"""

from __future__ import annotations

import math
from decimal import Decimal

# A fraction or amount within this of a limit counts as on it: 1 - 900/1000 is 0.0999...98,
# and "erosion 10 %" must read as 10 %. Far below any difference that matters in trading.
HAIR = 1e-9


def _steps(value: float, step: float) -> tuple[int, bool]:
    """(whole steps below or at `value`, whether `value` sits on the grid)."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step!r}")
    ratio = value / step
    nearest = round(ratio)
    if abs(ratio - nearest) <= 1e-9 + abs(ratio) * 1e-12:
        return nearest, True
    return math.floor(ratio), False


def _on_grid(count: int, step: float) -> float:
    return float(Decimal(count) * Decimal(repr(step)))


def floor_to_step(value: float, step: float) -> float:
    """The largest grid point at or below `value`."""
    count, _ = _steps(value, step)
    return _on_grid(count, step)


def ceil_to_step(value: float, step: float) -> float:
    """The smallest grid point at or above `value`."""
    count, exact = _steps(value, step)
    return _on_grid(count if exact else count + 1, step)


def is_step_multiple(value: float, step: float) -> bool:
    """`value` is a whole number of steps (within the same hair as the rounding)."""
    return _steps(value, step)[1]
