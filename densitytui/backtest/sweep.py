"""A parameter sweep: one backtest per combination of `--set` values, in parallel processes.

Each combination runs exactly as a single `densitytui backtest` with those `--set` values would
(a fresh engine, store and replay in its own process), so a sweep's row equals the single run.
Rows are ranked by net PnL, then profit factor, then fewer trades, then the order given.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from densitytui.backtest.overrides import Override, apply_overrides, describe
from densitytui.backtest.report import to_dict
from densitytui.backtest.run import run_backtest_sync
from densitytui.config import Config
from densitytui.model import Instrument


@dataclass(frozen=True, slots=True)
class SweepRow:
    overrides: tuple[Override, ...]
    result: dict[str, Any]

    @property
    def label(self) -> str:
        return describe(list(self.overrides))


def _one(
    config: Config, overrides: list[Override], files: list[str], changes: dict[str, float],
    instruments: list[Instrument],
) -> dict[str, Any]:
    run_config = apply_overrides(config, overrides)
    return to_dict(run_backtest_sync(run_config, files, changes, instruments))


def run_sweep(
    config: Config,
    grid: Sequence[list[Override]],
    files: Sequence[str | Path],
    changes: dict[str, float],
    instruments: Sequence[Instrument] = (),
    workers: int = 0,
) -> list[SweepRow]:
    """Every combination of `grid` (each checked before any runs), ranked."""
    for overrides in grid:
        apply_overrides(config, overrides)
    count = workers or os.cpu_count() or 1
    names = [str(f) for f in files]
    with ProcessPoolExecutor(max_workers=min(count, len(grid))) as pool:
        futures = [
            pool.submit(_one, config, overrides, names, changes, list(instruments))
            for overrides in grid
        ]
        rows = [
            SweepRow(tuple(overrides), future.result())
            for overrides, future in zip(grid, futures, strict=True)
        ]
    return rank(rows)


def rank(rows: list[SweepRow]) -> list[SweepRow]:
    def key(item: tuple[int, SweepRow]) -> tuple[float, float, int, int]:
        index, row = item
        summary = row.result["summary"]
        factor = summary["profit_factor"]
        return (
            -(summary["net_pnl"] or 0.0),
            -(factor if factor is not None else (1e18 if summary["trades"] else 0.0)),
            summary["trades"],
            index,
        )

    return [row for _, row in sorted(enumerate(rows), key=key)]


SWEEP_COLUMNS = ("trades", "win_rate_pct", "net_pnl", "profit_factor", "max_drawdown",
                 "sharpe_per_trade", "exposure_pct")


def sweep_table(rows: list[SweepRow]) -> str:
    width = max([len("parameters"), *(len(r.label) for r in rows)]) + 2
    lines = [f"{'rank':<6}{'parameters':<{width}}" + "".join(f"{c:>17}" for c in SWEEP_COLUMNS)]
    for n, row in enumerate(rows, start=1):
        summary = row.result["summary"]
        cells = "".join(
            f"{'-' if summary[c] is None else format(summary[c], 'g'):>17}" for c in SWEEP_COLUMNS
        )
        lines.append(f"{n:<6}{row.label:<{width}}{cells}")
    return "\n".join(lines) + "\n"
