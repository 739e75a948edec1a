"""`densitytui sim`: run the simulated market alone and record every frame it sends.

All simulated symbols (or `--symbols`) are subscribed; each frame goes on its own line, exactly as
sent, into a gzip NDJSON file (plain NDJSON when FILE does not end in .gz) that `densitytui scan`
and replays read. The gzip header carries no name and no time, so the same seed, duration and
symbols give byte-identical files. The summary goes to stdout, problems to stderr (exit status 2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import sys
import time
from pathlib import Path
from typing import BinaryIO

from densitytui.commands.settings import config_or_exit
from densitytui.venues.sim import SimMarket, SimMarketData, UnknownSymbol

# Level 1 keeps gzip far ahead of the simulator; these files compress about 6 times even so.
COMPRESS_LEVEL = 1
FLUSH_FRAMES = 2_000


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser(
        "sim",
        parents=parents,
        help="run the simulated market alone and record its messages",
        description="Run the built-in simulated market (deterministic from --seed) for a number "
        "of simulated seconds and record every Bybit v5 public message it sends, one per line.",
    )
    parser.add_argument(
        "--duration", type=float, default=60.0, metavar="S",
        help="simulated seconds to run (default 60)",
    )
    parser.add_argument(
        "--speed", type=float, default=None, metavar="X",
        help="1 = real time, 20 = twenty times faster, 0 = as fast as possible "
        "(default: sim.speed in the config)",
    )
    parser.add_argument(
        "--symbols", metavar="A,B", default=None,
        help="comma-separated symbols (default: sim.symbols in the config, else all twelve)",
    )
    parser.add_argument(
        "--record", metavar="FILE", required=True,
        help="output file: gzip NDJSON when it ends in .gz, plain NDJSON otherwise",
    )
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"densitytui sim: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    speed = config.sim.speed if args.speed is None else args.speed
    if speed < 0:
        return _fail(f"--speed must be 0 or more, not {speed}")
    if not args.duration > 0:
        return _fail(f"--duration must be more than 0 seconds, not {args.duration}")
    if args.symbols:
        symbols = [name.strip().upper() for name in args.symbols.split(",") if name.strip()]
    else:
        symbols = list(config.sim.symbols)
    try:
        market = SimMarket(config.app.seed, symbols or None)
    except UnknownSymbol as exc:
        return _fail(str(exc))
    path = Path(args.record)
    try:
        raw = path.open("wb")
    except OSError as exc:
        return _fail(f"cannot write {path}: {exc.strerror}")
    feed = SimMarketData(market, speed=speed)
    started = time.perf_counter()
    written = 0
    interrupted = False
    with raw:
        out: BinaryIO = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                          compresslevel=COMPRESS_LEVEL)
            if path.suffix == ".gz" else raw
        )
        with out:
            try:
                written = asyncio.run(_record(feed, out, round(args.duration * 1000)))
            except KeyboardInterrupt:
                interrupted = True
    wall = time.perf_counter() - started
    simulated = (market.now_ms - market.start_ms) / 1000
    rate = written / wall if wall > 0 else 0.0
    print(
        f"sim: {written} messages, {simulated:.1f} s simulated in {wall:.2f} s wall "
        f"({rate:,.0f} msg/s), seed {config.app.seed}, speed {speed:g}, "
        f"{len(market.symbols)} symbols -> {path}"
        + (" (interrupted)" if interrupted else "")
    )
    return 130 if interrupted else 0


async def _record(feed: SimMarketData, out: BinaryIO, duration_ms: int) -> int:
    """Write the frames of `duration_ms` of virtual time; returns how many."""
    market = feed.market
    end = market.now_ms + duration_ms
    await feed.subscribe(market.symbols)
    written = 0
    batch: list[bytes] = []
    async with contextlib.aclosing(feed.messages()) as frames:
        async for frame in frames:
            if market.now_ms > end:
                break
            batch.append(frame)
            if len(batch) >= FLUSH_FRAMES:
                out.write(b"\n".join(batch) + b"\n")
                written += len(batch)
                batch.clear()
    if batch:
        out.write(b"\n".join(batch) + b"\n")
        written += len(batch)
    await feed.close()
    return written
