"""`densitytui bench backtest`: messages/s of a whole backtest against the market engine alone.

Both are measured in the same process on the same recording, in CPU time of the process (the
store's writer thread included), best of `--repeat` rounds that alternate the two. The
backtest is the one `densitytui backtest` runs: reading and decompressing the file, the
replay, the market engine, signals, checks, the paper broker's fills, the SQLite journal and
reading the results back.
`bench market` replays frames already in memory, so reading the file is timed apart and shown
beside the figures. The headline is backtest msg/s / market engine msg/s (target >= 0.5).

The defaults make the shared BTC recording trade: it has no tickers, so `--change-24h
BTCUSDT=-8.1` gives it a trend, and `--set risk.max_position_exposure_pct=10` lets the
instrument's minimum order (0.001 BTC, about 62 USDT) pass the exposure limit of a
1,000 USDT account; `--set signals.min_reward_risk=0` turns off the reward/risk entry check,
which refuses every signal of that file (each has an opposing wall within twice its stop), so
the bench times trades, not refusals alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from densitytui.commands.scan import change_24h_arg
from densitytui.commands.settings import config_or_exit
from densitytui.config import Config, ConfigError
from densitytui.market import core as market_core
from densitytui.paths import PACKAGE_DIR
from densitytui.venues.recording import RecordingError, read_frames

# The same file `bench market` reads by default (relative to the project root).
DEFAULT_DATA = Path("../shared/data/btcusdt-2024-08-08.bybit.jsonl.gz")

TARGET_RATIO = 0.5
DEFAULT_CHANGE = [("BTCUSDT", -8.1)]
DEFAULT_SET = ["risk.max_position_exposure_pct=10", "signals.min_reward_risk=0"]


def register_backtest(
    targets: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = targets.add_parser(
        "backtest", parents=parents,
        help="messages/s of a whole backtest and its ratio to the market engine alone",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data", type=Path, default=None, metavar="PATH",
        help=f"recording to replay (default: {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--change-24h", action="append", default=None, type=change_24h_arg, metavar="SYMBOL=PCT",
        help="24 h change per symbol (default BTCUSDT=-8.1); repeatable",
    )
    parser.add_argument(
        "--set", action="append", default=None, metavar="KEY=VALUE", dest="overrides",
        help="config override (default risk.max_position_exposure_pct=10 and "
        "signals.min_reward_risk=0); repeatable",
    )
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="rounds (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_backtest_bench)


def _data(path: Path | None) -> Path | None:
    if path is not None:
        return path
    for candidate in (DEFAULT_DATA, (PACKAGE_DIR.parent / DEFAULT_DATA).resolve()):
        if candidate.is_file():
            return candidate
    return None


def run_backtest_bench(args: argparse.Namespace) -> int:
    from densitytui.backtest.overrides import apply_overrides, parse_grid
    from densitytui.logging import configure_logging

    config = config_or_exit(args)
    configure_logging(config)
    if args.repeat < 1:
        print("densitytui bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    data = _data(args.data)
    if data is None:
        print(f"densitytui bench: no --data and no {DEFAULT_DATA}", file=sys.stderr)
        return 2
    overrides = DEFAULT_SET if args.overrides is None else args.overrides
    changes = dict(DEFAULT_CHANGE if args.change_24h is None else args.change_24h)
    try:
        grid = parse_grid(overrides)
        if len(grid) != 1:
            raise ConfigError("--set", ["one value per key: a bench is not a sweep"])
        run_config = apply_overrides(config, grid[0])
        frames = list(read_frames(data))
    except ConfigError as exc:
        print(f"densitytui bench: bad {exc.source}: {'; '.join(exc.problems)}", file=sys.stderr)
        return 2
    except RecordingError as exc:
        print(f"densitytui bench: cannot read {exc}", file=sys.stderr)
        return 2
    figures = measure(run_config, data, frames, changes, args.repeat)
    figures["change_24h"] = changes
    figures["overrides"] = overrides
    if args.json:
        print(json.dumps({"bench": "backtest", "data": str(data), **figures}))
        return 0
    _print(figures, data)
    return 0


def _cpu(work: Any) -> tuple[float, Any]:
    gc.collect()
    start = time.process_time()
    value = work()
    return time.process_time() - start, value


def measure(
    config: Config, data: Path, frames: list[bytes], changes: dict[str, float], repeat: int,
) -> dict[str, Any]:
    """Best-of-`repeat` CPU seconds of the backtest, of reading the file alone, and of the
    market engine (`bench market`'s throughput pass, same frames, same process). The three
    alternate round by round, so a machine that speeds up or slows down during the run moves
    both sides of the ratio alike."""
    from densitytui.backtest.run import run_backtest
    from densitytui.commands.bench import market_engine_pass
    from densitytui.venues.replay import ReplayFile

    best_backtest = best_read = best_market = float("inf")
    result = None
    for _ in range(repeat):
        seconds, result = _cpu(lambda: asyncio.run(run_backtest(config, [data], changes)))
        best_backtest = min(best_backtest, seconds)
        read, _ = _cpu(lambda: sum(1 for _ in ReplayFile(data)))
        best_read = min(best_read, read)
        market, _ = _cpu(lambda: market_engine_pass(frames, config))
        best_market = min(best_market, market)
    assert result is not None
    messages = result.messages
    backtest_rate = messages / best_backtest
    market_rate = len(frames) / best_market
    return {
        "messages": messages,
        "repeat": repeat,
        "trades": len(result.trades),
        "signals": sum(result.signals.values()),
        "backtest_cpu_s": best_backtest,
        "backtest_msgs_per_s": backtest_rate,
        "read_cpu_s": best_read,
        "market_cpu_s": best_market,
        "market_msgs_per_s": market_rate,
        "ratio": backtest_rate / market_rate,
        "target_ratio": TARGET_RATIO,
        "load_avg_1m": os.getloadavg()[0],
        "core": market_core.running(),
    }


def _print(figures: dict[str, Any], data: Path) -> None:
    given = ", ".join(f"{s}={v:+g}" for s, v in figures["change_24h"].items()) or "none"
    print(f"bench backtest: {data}")
    print(
        f"  {figures['messages']:,} messages, {figures['signals']} signals, "
        f"{figures['trades']} trades (--change-24h {given}; --set "
        f"{' '.join(figures['overrides']) or 'none'}); best of {figures['repeat']} rounds in "
        f"CPU time, load average {figures['load_avg_1m']:.2f}"
    )
    print(f"  backtest / market engine {figures['ratio']:>10.3f}        "
          f"(headline; target >= {TARGET_RATIO})")
    print(f"  market core              {figures['core']}")
    print(f"  whole backtest           {figures['backtest_msgs_per_s']:>10,.0f} msg/s  "
          f"({figures['backtest_cpu_s']:.3f} s CPU, reading the file included)")
    print(f"  market engine            {figures['market_msgs_per_s']:>10,.0f} msg/s  "
          f"({figures['market_cpu_s']:.3f} s CPU: bench market's pass, frames in memory)")
    print(f"  reading the file alone   {figures['read_cpu_s']:>10.3f} s CPU "
          f"({figures['read_cpu_s'] / figures['backtest_cpu_s']:.0%} of the backtest)")
