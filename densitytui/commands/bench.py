"""`densitytui bench TARGET`: throughput benchmarks, measured in one process.

`bench market` replays recorded frames, held in memory, three ways over the very same frames,
in alternating rounds, and keeps the best round of each: `orjson.loads` alone (a reference,
nothing more), the decoder the engine itself runs (`decode_frame`: the floor) and the whole
market engine (decode, books, densities, tape). The ratio engine / floor is the figure the
market engine is held to. Speed is measured here, never in tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from densitytui.commands.settings import config_or_exit
from densitytui.config import Config
from densitytui.market.decode import decode_frame
from densitytui.market.engine import MarketEngine
from densitytui.paths import PACKAGE_DIR
from densitytui.venues.recording import RecordingError, read_frames

DEFAULT_DATA = Path("../shared/data/btcusdt-2024-08-08.bybit.jsonl.gz")
"""Relative to the project root, where a checkout runs it; found from the source tree too."""
TARGET_RATIO = 0.35


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "bench", parents=parents, help="measure throughput (market engine against its floor)",
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    market = targets.add_parser(
        "market", parents=parents,
        help="messages/s of decoding alone (the floor) and of the whole market engine",
        description="Replay recorded Bybit frames from memory: orjson.loads alone, the "
        "engine's decoder alone (the floor) and the whole market engine, alternating, best "
        "of --repeat rounds; then their ratio and the peak RSS of the process.",
    )
    market.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, metavar="PATH",
        help=f"recording to replay (default: {DEFAULT_DATA})",
    )
    market.add_argument("--repeat", type=int, default=5, metavar="N", help="rounds (default 5)")
    market.add_argument("--json", action="store_true", help="print one JSON object")
    market.set_defaults(func=run_market)


def _best_seconds(work: Callable[[], object], best: float) -> float:
    gc.collect()
    start = time.perf_counter()
    work()
    return min(best, time.perf_counter() - start)


def _peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_market(frames: list[bytes], config: Config, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` seconds of the three passes over `frames`, alternating."""
    loads = orjson.loads

    def orjson_only() -> None:
        for frame in frames:
            loads(frame)

    def decode_only() -> None:
        for frame in frames:
            decode_frame(frame)

    events = 0

    def engine() -> None:
        nonlocal events
        market = MarketEngine(config)
        on_frame = market.on_frame
        count = 0
        for frame in frames:
            count += len(on_frame(frame))
        events = count + len(market.finish())

    best = {"orjson": float("inf"), "decode": float("inf"), "engine": float("inf")}
    for _ in range(repeat):
        best["orjson"] = _best_seconds(orjson_only, best["orjson"])
        best["decode"] = _best_seconds(decode_only, best["decode"])
        best["engine"] = _best_seconds(engine, best["engine"])
    n = len(frames)
    figures = {
        "messages": n,
        "repeat": repeat,
        "orjson_msgs_per_s": n / best["orjson"],
        "decode_msgs_per_s": n / best["decode"],
        "engine_msgs_per_s": n / best["engine"],
        "density_events": events,
    }
    figures["ratio"] = figures["engine_msgs_per_s"] / figures["decode_msgs_per_s"]
    figures["ratio_vs_orjson"] = figures["engine_msgs_per_s"] / figures["orjson_msgs_per_s"]
    figures["peak_rss_mb"] = _peak_rss_mb()
    return figures


def run_market(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    if args.repeat < 1:
        print("densitytui bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    data: Path = args.data
    beside_checkout = (PACKAGE_DIR.parent / DEFAULT_DATA).resolve()
    if data == DEFAULT_DATA and not data.exists() and beside_checkout.exists():
        data = beside_checkout
    try:
        frames = list(read_frames(data))
    except RecordingError as exc:
        print(f"densitytui bench: cannot read {exc}", file=sys.stderr)
        return 2
    if not frames:
        print(f"densitytui bench: {data} holds no messages", file=sys.stderr)
        return 2
    figures = measure_market(frames, config, args.repeat)
    if args.json:
        print(json.dumps({"bench": "market", "data": str(data), **figures}))
        return 0
    print(
        f"bench market: {data}, {figures['messages']:,} messages, "
        f"best of {figures['repeat']} alternating rounds"
    )
    print(f"  orjson.loads only  {figures['orjson_msgs_per_s']:>12,.0f} msg/s  (reference)")
    print(f"  decode (floor)     {figures['decode_msgs_per_s']:>12,.0f} msg/s  (decode_frame)")
    print(f"  market engine      {figures['engine_msgs_per_s']:>12,.0f} msg/s  "
          "(decode, books, densities, tape)")
    print(f"  engine / floor     {figures['ratio']:>12.3f}        (target >= {TARGET_RATIO})")
    print(f"  engine / orjson    {figures['ratio_vs_orjson']:>12.3f}")
    print(f"  peak RSS           {figures['peak_rss_mb']:>12.1f} MB")
    return 0
