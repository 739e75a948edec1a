"""`densitytui backtest FILE...`: the trading engine in auto mode on recorded data, then its
trades, statistics and equity curve (`densitytui.backtest`).

A recording without tickers has no 24 h change, so its trend stays FLAT and nothing trades
unless `--change-24h SYMBOL=PCT` gives one; the output says which it was. The progress bar
(messages/s and ETA) goes to stderr while stderr is a terminal, and is left out otherwise.
The same files and config give byte-identical output (`--json`, the report files); the wall
time is printed to stderr only. A run that ends with positions it could not close is NOT FLAT:
they are listed marked to market and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from densitytui.commands.instrument_options import add_instrument_options, given_instruments
from densitytui.commands.scan import change_24h_arg
from densitytui.commands.settings import config_or_exit
from densitytui.config import Config, ConfigError
from densitytui.model import Instrument
from densitytui.venues.recording import RecordingError
from densitytui.venues.trade_history import TradeHistoryError

if TYPE_CHECKING:
    from densitytui.backtest.run import BacktestResult
    from densitytui.venues.replay import ReplayMarketData


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "backtest", parents=parents,
        help="replay recorded Bybit data through the engine in auto mode and report its trades",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE",
        help="recordings (.jsonl, .jsonl.gz, Bybit *_obNNN.data.zip, Bybit trade history "
        ".csv/.csv.gz), merged on time",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="override a config key (e.g. signals.breakout_min_erosion_pct=20); several "
        "values (=20,30,40) make a sweep over every combination, run in parallel",
    )
    parser.add_argument(
        "--change-24h", action="append", default=[], type=change_24h_arg, metavar="SYMBOL=PCT",
        help="the 24 h change of SYMBOL in %% (e.g. BTCUSDT=+8.1) for recordings without "
        "tickers; repeatable",
    )
    add_instrument_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--report", type=Path, default=None, metavar="DIR",
        help="write DIR/report.html (self-contained) and DIR/trades.csv; a sweep writes one "
        "folder per point in DIR",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from densitytui.backtest.overrides import apply_overrides, parse_grid
    from densitytui.backtest.report import not_flat_error, render_text, to_json, write_report
    from densitytui.logging import configure_logging

    config = config_or_exit(args)
    configure_logging(config)
    try:
        grid = parse_grid(args.overrides)
        instruments = given_instruments(args)
        for overrides in grid:
            apply_overrides(config, overrides)
    except ConfigError as exc:
        print(f"densitytui backtest: bad {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    changes = dict(args.change_24h)
    if changes:
        from densitytui.commands.replay import replay_problem

        problem, _ = replay_problem(args.files, config, changes, instruments)
        if problem:
            print(f"densitytui backtest: {problem}", file=sys.stderr)
            return 2
    try:
        if len(grid) > 1:
            return _sweep(config, grid, args, changes, instruments)
        run_config = apply_overrides(config, grid[0])
        started = time.perf_counter()
        result = _with_progress(run_config, args.files, changes, instruments)
        elapsed = time.perf_counter() - started
    except (RecordingError, TradeHistoryError, OSError) as exc:
        print(f"densitytui backtest: cannot read {exc}", file=sys.stderr)
        return 2
    print(
        f"backtest: {result.messages:,} messages in {elapsed:.2f} s wall time "
        f"({result.messages / elapsed:,.0f} msg/s)", file=sys.stderr,
    )
    if args.json:
        print(to_json(result))
    else:
        sys.stdout.write(render_text(result))
    if args.report is not None:
        written = write_report(result, args.report)
        print(f"report: {', '.join(str(p) for p in written)}", file=sys.stderr if args.json
              else sys.stdout)
    if result.open_positions:
        print(f"densitytui backtest: {not_flat_error(result)}", file=sys.stderr)
        return 1
    return 0


def _with_progress(
    config: Config, files: list[str], changes: dict[str, float], instruments: list[Instrument],
) -> BacktestResult:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from densitytui.backtest.run import run_backtest

    console = Console(stderr=True)
    with Progress(
        TextColumn("backtest"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[messages]} msg  {task.fields[rate]} msg/s"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, disable=not console.is_terminal, transient=True,
    ) as bar:
        task = bar.add_task("backtest", total=None, messages="0", rate="-")
        started = time.perf_counter()

        def progress(replay: ReplayMarketData) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(
                task, total=replay.total_bytes, completed=replay.read_bytes(),
                messages=f"{replay.frames:,}", rate=f"{replay.frames / elapsed:,.0f}",
            )

        return asyncio.run(run_backtest(
            config, files, changes, instruments=instruments, progress=progress,
        ))


def _sweep(
    config: Config, grid: list, args: argparse.Namespace, changes: dict[str, float],
    instruments: list[Instrument],
) -> int:
    from densitytui.backtest.overrides import describe
    from densitytui.backtest.sweep import run_sweep, sweep_table

    started = time.perf_counter()
    rows = run_sweep(
        config, grid, args.files, changes, instruments, config.backtest.workers, args.report,
    )
    print(f"sweep: {len(rows)} runs in {time.perf_counter() - started:.2f} s wall time",
          file=sys.stderr)
    if args.json:
        print(json.dumps(
            [{"overrides": describe(list(r.overrides)), **r.result} for r in rows],
            sort_keys=True,
        ))
    else:
        note = rows[0].result["trend_note"] if rows else ""
        if note:
            print(note)
        sys.stdout.write(sweep_table(rows))
    if args.report is not None:
        print(f"reports: one folder per point in {args.report}", file=sys.stderr if args.json
              else sys.stdout)
    return 0
