"""`densitytui bench soak --duration S`: the headless engine on a busy simulated market for a
long while, watching its memory and CPU.

The market is forty simulated contracts (the movers' default 20 gainers and 20 losers, so the
engine watches all of them), each cloned from one of the dozen with a book busy enough to send
a delta nearly every 20 ms step: about 2,000 book messages per second, in real time
(`--speed 1`). The engine is the production one (`TradingEngine` on the sim venue, paper
account, a SQLite store in a temporary directory holding the account lock), in automatic mode
so it trades. The RSS is read once the warm-up is over (books built, movers chosen) and again
at the end; CPU share (process CPU seconds per wall second, 1.0 = one core) and the RSS are
printed for each tenth of the run, so a creep shows as a trend, not as one number. The engine's
log goes to a file in the scratch directory, not to the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil

from densitytui.commands.settings import config_or_exit
from densitytui.config import Config
from densitytui.engine.engine import TradingEngine
from densitytui.engine.runner import wall_clock_ms
from densitytui.logging import close_logging, configure_logging
from densitytui.market.decode import KIND_BOOK
from densitytui.market.engine import MarketEngine
from densitytui.model import TradingMode
from densitytui.storage import Store, open_store
from densitytui.venues.base import Venue
from densitytui.venues.paper import PaperBroker
from densitytui.venues.sim import CATALOGUE, SimMarket, SimMarketData, SymbolSpec

SOAK_SYMBOLS = 40
# Book events per second of each soak symbol: 4 per 20 ms step on average, so a step without a
# book delta is rare (e^-4) and each symbol sends close to 50 book messages per second.
SOAK_EVENTS_PER_S = 200.0
SAMPLES = 10


def soak_catalogue(count: int = SOAK_SYMBOLS) -> list[SymbolSpec]:
    """`count` contracts cloned round the dozen, renamed (`BTC01USDT`...), all busy."""
    specs = []
    for index in range(count):
        base = CATALOGUE[index % len(CATALOGUE)]
        name = f"{base.symbol.removesuffix('USDT')}{index:02d}USDT"
        specs.append(replace(base, symbol=name, events_per_s=SOAK_EVENTS_PER_S))
    return specs


@dataclass
class SoakFigures:
    duration_s: float
    warmup_s: float
    symbols: int = 0
    book_messages: int = 0
    messages: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    cpu_share: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    positions_opened: int = 0

    @property
    def rss_growth_pct(self) -> float:
        return 100.0 * (self.rss_end_mb / self.rss_start_mb - 1.0) if self.rss_start_mb else 0.0

    @property
    def book_msgs_per_s(self) -> float:
        return self.book_messages / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "bench": "soak", "duration_s": self.duration_s, "warmup_s": self.warmup_s,
            "symbols": self.symbols, "book_messages": self.book_messages,
            "book_msgs_per_s": round(self.book_msgs_per_s, 1), "messages": self.messages,
            "rss_start_mb": round(self.rss_start_mb, 1), "rss_end_mb": round(self.rss_end_mb, 1),
            "rss_growth_pct": round(self.rss_growth_pct, 2),
            "rss_mb": [round(rss, 1) for rss in self.rss_mb],
            "cpu_share": [round(share, 3) for share in self.cpu_share],
            "cpu_share_mean": round(sum(self.cpu_share) / len(self.cpu_share), 3)
            if self.cpu_share else 0.0,
            "positions_opened": self.positions_opened,
            "load_avg_1m": os.getloadavg()[0],
        }


def register_soak(
    targets: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = targets.add_parser(
        "soak", parents=parents,
        help="RSS and CPU of the headless engine over a long run on a busy simulated market",
        description=f"Run the headless trading engine (automatic mode, paper account, a "
        f"temporary SQLite store) on {SOAK_SYMBOLS} simulated contracts at real time, about "
        "2,000 book messages per second, for --duration seconds after a warm-up. Prints the "
        "RSS after the warm-up and at the end, its growth, and the CPU share of each tenth "
        "of the run.",
    )
    parser.add_argument("--duration", type=float, default=600.0, metavar="S",
                        help="seconds to run after the warm-up (default 600)")
    parser.add_argument("--warmup", type=float, default=60.0, metavar="S",
                        help="seconds before the first RSS reading (default 60: the tape's "
                        "longest rolling window, spike_baseline_s, is full by then)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_soak_bench)


def run_soak_bench(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    with tempfile.TemporaryDirectory(prefix="densitytui-soak-") as scratch:
        configure_logging(config, Path(scratch) / "soak.log")
        try:
            figures = asyncio.run(soak(config, Path(scratch), args.duration, args.warmup))
        finally:
            close_logging()
    if args.json:
        print(json.dumps(figures.as_dict()))
        return 0
    shares = "  ".join(f"{share:.2f}" for share in figures.cpu_share)
    print(f"soak: {figures.symbols} symbols, {figures.duration_s:.0f} s after a "
          f"{figures.warmup_s:.0f} s warm-up, {figures.book_msgs_per_s:,.0f} book msg/s "
          f"({figures.messages:,} messages), {figures.positions_opened} position(s) opened")
    print(f"  RSS   {figures.rss_start_mb:.1f} MB after warm-up -> {figures.rss_end_mb:.1f} MB "
          f"at the end ({figures.rss_growth_pct:+.1f} %)")
    print("  RSS per tenth of the run (MB): "
          + "  ".join(f"{rss:.1f}" for rss in figures.rss_mb))
    print(f"  CPU share per tenth of the run (1.0 = one core): {shares}")
    return 0


def soak_engine(config: Config, store: Store) -> TradingEngine:
    """The production engine on the forty-symbol simulated market, in real time."""
    config = config.model_copy(update={
        "app": config.app.model_copy(update={"venue": "sim", "mode": TradingMode.AUTO}),
    })
    market = MarketEngine(config)
    catalogue = soak_catalogue()
    sim = SimMarket(config.app.seed, None, start_ms=wall_clock_ms(), catalogue=catalogue)
    data = SimMarketData(sim, speed=1.0)
    broker = PaperBroker.from_config(config, sim.instruments(), market.book, data.now_ms, "sim")
    return TradingEngine(
        config, Venue("sim", data, broker), store, clock_ms=data.now_ms, market=market,
        lockstep=True,
    )


async def soak(config: Config, scratch: Path, duration_s: float, warmup_s: float) -> SoakFigures:
    storage = config.storage.model_copy(update={"url": f"sqlite:///{scratch / 'soak.db'}"})
    store = await open_store(storage)
    figures = SoakFigures(duration_s=duration_s, warmup_s=warmup_s)
    process = psutil.Process()
    try:
        await store.lock_account("sim")
        engine = soak_engine(config, store)
        await engine.start()
        runner = asyncio.create_task(engine.run())
        try:
            await _sleep_or_fail(runner, warmup_s)
            figures.symbols = len(engine.watched)
            start_books = engine.market.stats.messages[KIND_BOOK]
            start_messages = engine.market.stats.total_messages
            figures.rss_start_mb = process.memory_info().rss / 1e6
            for _ in range(SAMPLES):
                cpu, wall = _cpu_seconds(process), time.monotonic()
                await _sleep_or_fail(runner, duration_s / SAMPLES)
                figures.cpu_share.append(
                    (_cpu_seconds(process) - cpu) / (time.monotonic() - wall)
                )
                figures.rss_mb.append(process.memory_info().rss / 1e6)
            figures.rss_end_mb = process.memory_info().rss / 1e6
            figures.book_messages = engine.market.stats.messages[KIND_BOOK] - start_books
            figures.messages = engine.market.stats.total_messages - start_messages
        finally:
            await engine.stop()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await engine.venue.market.close()
            await engine.exchange.close()
        figures.positions_opened = sum(
            1 for _ in await store.closed_positions(limit=100_000)
        ) + len(await store.open_positions())
    finally:
        await store.close()
    return figures


async def _sleep_or_fail(runner: asyncio.Task[None], seconds: float) -> None:
    """Wait `seconds`, raising at once if the engine's run ended (it never should here)."""
    done, _ = await asyncio.wait([runner], timeout=seconds)
    if done:
        runner.result()
        raise RuntimeError("the engine stopped during the soak")


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system
