"""A parameter sweep: one backtest per combination of `--set` values, in parallel processes.

Each combination runs exactly as a single `densitytui backtest` with those `--set` values would
(a fresh engine, store and replay in its own process), so a sweep's row equals the single run.
Rows are ranked by net PnL, then profit factor, then fewer trades, then the order given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from densitytui.backtest.overrides import Override, apply_overrides, describe
from densitytui.backtest.report import to_dict, write_report
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
    instruments: list[Instrument], report: Path | None,
) -> dict[str, Any]:
    run_config = apply_overrides(config, overrides)
    result = run_backtest_sync(run_config, files, changes, instruments)
    if report is not None:
        write_report(result, report)
    return to_dict(result)


def point_folder(index: int, overrides: Sequence[Override], varying: set[str]) -> str:
    """`03-signals.ttl_s=30_risk.leverage=5`: a point's report folder, numbered in the order
    given and named by the keys that vary across the sweep."""
    shown = [item for item in overrides if item[0] in varying]
    label = re.sub(r"[^A-Za-z0-9_.=-]+", "_", describe(shown)) or "defaults"
    return f"{index:02d}-{label}"[:200]


def run_sweep(
    config: Config,
    grid: Sequence[list[Override]],
    files: Sequence[str | Path],
    changes: dict[str, float],
    instruments: Sequence[Instrument] = (),
    workers: int = 0,
    report: Path | None = None,
) -> list[SweepRow]:
    """Every combination of `grid` (each checked before any runs), ranked. With `report`, each
    point writes its report into its own folder there (`point_folder`)."""
    for overrides in grid:
        apply_overrides(config, overrides)
    count = workers or os.cpu_count() or 1
    names = [str(f) for f in files]
    values: dict[str, set[str]] = {}
    for overrides in grid:
        for key, value in overrides:
            values.setdefault(key, set()).add(repr(value))
    varying = {key for key, seen in values.items() if len(seen) > 1}
    with ProcessPoolExecutor(max_workers=min(count, len(grid))) as pool:
        futures = [
            pool.submit(
                _one, config, overrides, names, changes, list(instruments),
                None if report is None else report / point_folder(index, overrides, varying),
            )
            for index, overrides in enumerate(grid, start=1)
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
