"""`densitytui bench TARGET`: throughput benchmarks, measured in one process.

`bench market` replays recorded frames, held in memory, four ways over the very same frames,
in alternating rounds, and keeps the best round of each: `orjson.loads` alone, the decoder the
engine runs (`decode_frame`), decoding plus the order books alone (`books_pass`), and the whole
market engine (decode, books, densities, tape). The headline is engine msg/s divided by
`orjson.loads` msg/s: a fixed yardstick, unlike the engine's own decoder, which moving work
into it would flatter. The differences between the passes say where the engine's time goes.
A last pass times every message through the engine alone, for the microseconds per book and
per trade message (p50, p99).

Without `--data` it reads the shared BTC recording when the checkout has one beside it, and
otherwise records a fixed-seed simulated session first (in memory), so it runs on a fresh
install. Speed is measured here, never in tests. Throughput is CPU time of this process; the
per-message latencies are wall time, so preemption by other processes shows in their p99, and
the output gives the load average beside the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from densitytui.commands.bench_backtest import register_backtest
from densitytui.commands.bench_engine import register_engine
from densitytui.commands.bench_soak import register_soak
from densitytui.commands.bench_ui import register_ui
from densitytui.commands.percentile import percentile
from densitytui.commands.settings import config_or_exit
from densitytui.config import Config
from densitytui.market import core as market_core
from densitytui.market.book import OrderBook
from densitytui.market.decode import KIND_BOOK, KIND_TRADE, BookMessage, DecodeError, decode_frame
from densitytui.market.densities import DensityRules
from densitytui.market.engine import MarketEngine
from densitytui.paths import PACKAGE_DIR
from densitytui.venues.recording import RecordingError, read_frames
from densitytui.venues.sim import SimMarket

DEFAULT_DATA = Path("../shared/data/btcusdt-2024-08-08.bybit.jsonl.gz")
"""Relative to the project root, where a checkout runs it; found from the source tree too."""
# issue 22: the compiled market core at half of orjson.loads' speed (the pure core: no target
# beyond not falling behind itself)
TARGET_RATIO = 0.5
# The simulated session recorded when there is no data: fixed, so runs compare.
SIM_SEED = 1
SIM_SECONDS = 30
LATENCY_KINDS = {KIND_BOOK: "book", KIND_TRADE: "trade"}


class BenchInputError(Exception):
    """Frames that cannot be benchmarked; the message is the one line to print."""


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "bench", parents=parents,
        help="benchmarks: market engine (market), trading engine latency (engine), the app under "
        "load (ui), a whole backtest (backtest), memory and CPU over a long run (soak)",
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    market = targets.add_parser(
        "market", parents=parents,
        help="messages/s of the whole market engine against orjson.loads on the same frames",
        description="Replay recorded Bybit frames from memory: orjson.loads alone, the "
        "engine's decoder alone, decoding plus the order books, and the whole market engine, "
        "alternating, best of --repeat rounds. Headline: engine msg/s / orjson.loads msg/s; "
        "the passes' differences say where the time goes. Then microseconds per book and "
        "per trade message (p50, p99) and the peak RSS of the process. Without --data: the "
        f"shared BTC recording beside the checkout if there is one, else {SIM_SECONDS} s of "
        f"the simulated market (seed {SIM_SEED}), recorded first.",
    )
    market.add_argument(
        "--data", type=Path, default=None, metavar="PATH",
        help=f"recording to replay (default: {DEFAULT_DATA} if present, else a simulated "
        "session)",
    )
    market.add_argument(
        "--simulated", action="store_true",
        help=f"replay the simulated session ({SIM_SECONDS} s, seed {SIM_SEED}) even when "
        "shared data is present",
    )
    market.add_argument("--repeat", type=int, default=5, metavar="N", help="rounds (default 5)")
    market.add_argument("--json", action="store_true", help="print one JSON object")
    market.set_defaults(func=run_market)
    register_engine(targets, parents)
    register_backtest(targets, parents)
    register_ui(targets, parents)
    register_soak(targets, parents)


def _best_seconds(work: Callable[[], object], best: float) -> float:
    """CPU seconds of this process, not wall time: on a shared machine the time others take
    the core away would otherwise land on whichever pass it happened in."""
    gc.collect()
    start = time.process_time()
    work()
    return min(best, time.process_time() - start)


def _peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024



def frame_kinds(frames: list[bytes]) -> list[str]:
    """Each frame's kind as the decoder sees it ("invalid" kinds for malformed ones)."""
    kinds = []
    for frame in frames:
        try:
            kinds.append(decode_frame(frame).kind)
        except DecodeError as exc:
            kinds.append(f"malformed {exc.kind}")
    return kinds


def measure_latency(frames: list[bytes], kinds: list[str], config: Config) -> dict[str, float]:
    """Microseconds per message through the engine, p50 and p99 per kind, from one pass."""
    market = MarketEngine(config)
    on_frame = market.on_frame
    clock = time.perf_counter_ns
    spent: dict[str, list[float]] = {name: [] for name in LATENCY_KINDS.values()}
    gc.collect()
    for frame, kind in zip(frames, kinds, strict=True):
        start = clock()
        on_frame(frame)
        elapsed = clock() - start
        name = LATENCY_KINDS.get(kind)
        if name is not None:
            spent[name].append(elapsed / 1000)
    figures = {}
    for name, values in spent.items():
        values.sort()
        figures[f"{name}_us_p50"] = percentile(values, 0.50)
        figures[f"{name}_us_p99"] = percentile(values, 0.99)
    return figures


def market_engine_pass(frames: list[bytes], config: Config) -> int:
    """One pass of a fresh market engine over `frames` (what `bench market` times); the
    number of density events it gave."""
    market = MarketEngine(config)
    on_frame = market.on_frame
    count = 0
    for frame in frames:
        count += len(on_frame(frame))
    return count + len(market.finish())


def books_pass(frames: list[bytes], config: Config) -> int:
    """Decode every frame and apply the book frames, each book reporting the changes its
    density tracker would ask for, and nothing more: the engine's time up to its densities
    and tape. The number of those changes."""
    books: dict[str, OrderBook] = {}
    changes = 0
    for frame in frames:
        try:
            message = decode_frame(frame)
        except DecodeError:
            continue
        if type(message) is BookMessage:
            book = books.get(message.symbol)
            if book is None:
                strategy = config.strategy(message.symbol)
                rules = DensityRules.from_config(strategy.density, strategy.signals)
                book = books[message.symbol] = OrderBook(
                    message.symbol, message.depth, rules.keep_fraction * rules.threshold(0.0),
                )
            book.apply_message(message)
            changes += len(book.changes)
    return changes


def measure_market(frames: list[bytes], config: Config, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` seconds of the four passes over `frames`, alternating, then the
    per-message latency pass."""
    loads = orjson.loads

    def orjson_only() -> None:
        for frame in frames:
            loads(frame)

    def decode_only() -> None:
        for frame in frames:
            try:
                decode_frame(frame)
            except DecodeError:
                continue

    events = 0

    def engine() -> None:
        nonlocal events
        events = market_engine_pass(frames, config)

    def books() -> None:
        books_pass(frames, config)

    best = dict.fromkeys(("orjson", "decode", "books", "engine"), float("inf"))
    for _ in range(repeat):
        best["orjson"] = _best_seconds(orjson_only, best["orjson"])
        best["decode"] = _best_seconds(decode_only, best["decode"])
        best["books"] = _best_seconds(books, best["books"])
        best["engine"] = _best_seconds(engine, best["engine"])
    kinds = frame_kinds(frames)
    n = len(frames)
    figures: dict[str, float] = {
        "messages": n,
        "book_messages": kinds.count(KIND_BOOK),
        "trade_messages": kinds.count(KIND_TRADE),
        "malformed_messages": sum(kind.startswith("malformed") for kind in kinds),
        "repeat": repeat,
        "orjson_msgs_per_s": n / best["orjson"],
        "decode_msgs_per_s": n / best["decode"],
        "engine_msgs_per_s": n / best["engine"],
        "density_events": events,
    }
    # Where the engine's time goes, by difference between the passes, in CPU ms.
    figures["orjson_ms"] = best["orjson"] * 1000
    figures["decode_ms"] = best["decode"] * 1000
    figures["books_ms"] = (best["books"] - best["decode"]) * 1000
    figures["densities_tape_ms"] = (best["engine"] - best["books"]) * 1000
    figures["ratio_vs_orjson"] = figures["engine_msgs_per_s"] / figures["orjson_msgs_per_s"]
    figures["ratio_vs_decode"] = figures["engine_msgs_per_s"] / figures["decode_msgs_per_s"]
    figures.update(measure_latency(frames, kinds, config))
    figures["peak_rss_mb"] = _peak_rss_mb()
    figures["load_avg_1m"] = os.getloadavg()[0]
    figures["core"] = market_core.running()
    return figures


def simulated_frames(seed: int = SIM_SEED, seconds: int = SIM_SECONDS) -> list[bytes]:
    """A fixed simulated session: every simulated symbol subscribed, `seconds` of market time."""
    market = SimMarket(seed)
    market.subscribe(market.symbols)
    return list(market.run(seconds * 1000))


def load_frames(data: Path | None, simulated: bool = False) -> tuple[list[bytes], str]:
    """The frames to replay and a description of where they come from; `BenchInputError`
    when an explicit file cannot be read or holds no Bybit message."""
    if simulated:
        return simulated_frames(), (
            f"a simulated session recorded first ({SIM_SECONDS} s of market time, all symbols, "
            f"seed {SIM_SEED})"
        )
    if data is None:
        for candidate in (DEFAULT_DATA, (PACKAGE_DIR.parent / DEFAULT_DATA).resolve()):
            if candidate.is_file():
                data = candidate
                break
        else:
            return simulated_frames(), (
                f"no --data and no {DEFAULT_DATA}: recorded a simulated session first "
                f"({SIM_SECONDS} s of market time, all symbols, seed {SIM_SEED})"
            )
    try:
        frames = list(read_frames(data))
    except RecordingError as exc:
        raise BenchInputError(f"cannot read {exc}") from None
    if not frames:
        raise BenchInputError(f"{data} holds no messages")
    if all(kind.startswith("malformed") for kind in frame_kinds(frames[:1000])):
        raise BenchInputError(
            f"{data}: none of its first {min(len(frames), 1000)} lines is a Bybit message"
        )
    return frames, str(data)


def run_market(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    if args.repeat < 1:
        print("densitytui bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.simulated and args.data is not None:
            raise BenchInputError("--data and --simulated exclude each other")
        frames, source = load_frames(args.data, args.simulated)
    except BenchInputError as exc:
        print(f"densitytui bench: {exc}", file=sys.stderr)
        return 2
    figures = measure_market(frames, config, args.repeat)
    if args.json:
        print(json.dumps({"bench": "market", "data": source, **figures}))
        return 0
    print(f"bench market: {source}")
    print(
        f"  {figures['messages']:,} messages ({figures['book_messages']:,} book, "
        f"{figures['trade_messages']:,} trade, {figures['malformed_messages']:,} malformed), "
        f"best of {figures['repeat']} alternating rounds in CPU time, load average "
        f"{figures['load_avg_1m']:.2f}"
    )
    print(f"  engine / orjson    {figures['ratio_vs_orjson']:>12.3f}        "
          f"(headline; target >= {TARGET_RATIO} with the compiled core)")
    print(f"  market core        {figures['core']}")
    print(f"  orjson.loads only  {figures['orjson_msgs_per_s']:>12,.0f} msg/s  (yardstick)")
    print(f"  market engine      {figures['engine_msgs_per_s']:>12,.0f} msg/s  "
          "(decode, books, densities, tape)")
    print(f"  decode only        {figures['decode_msgs_per_s']:>12,.0f} msg/s  "
          f"(decode_frame; engine / decode {figures['ratio_vs_decode']:.3f})")
    orjson_ms = figures["orjson_ms"]
    print("  where the engine's time goes, CPU ms and x orjson.loads (by difference of passes):")
    for label, key in (
        ("decoding", "decode_ms"), ("books", "books_ms"),
        ("densities, tape", "densities_tape_ms"),
    ):
        print(f"    {label:<16} {figures[key]:>8.1f} ms  {figures[key] / orjson_ms:>5.2f}x")
    for name in LATENCY_KINDS.values():
        print(f"  {name + ' message':<18} {figures[f'{name}_us_p50']:>9.1f} us p50  "
              f"{figures[f'{name}_us_p99']:>7.1f} us p99  (whole engine)")
    print(f"  peak RSS           {figures['peak_rss_mb']:>12.1f} MB")
    return 0
