"""`densitytui bench engine`: how fast the trading engine acts, on the simulated market.

(a) auto mode: from the frame that completes a signal to the order request leaving the engine
    (its journal row written, before the venue is called); a breakout on the wall of an open
    bounce closes the bounce first, and those entries are shown apart; (b) semi mode: from the
    confirm command to the order request; (c) close-all of 10 open positions on a paper account that
    answers every request after 50 ms, until verified flat. The store is a real SQLite file
    (fsynced, as in production) in a temporary directory. Latency excludes the exchange's own;
    engine time also excludes the one durable journal write, which is shown beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densitytui.commands.percentile import percentile
from densitytui.commands.settings import config_or_exit
from densitytui.config import Config

if TYPE_CHECKING:
    from densitytui.engine.engine import TradingEngine
    from densitytui.storage import Store
    from densitytui.venues.base import Exchange
    from densitytui.venues.paper import PaperBroker

T0 = 1_700_000_000_000
TARGET_P99_US = 5_000.0
TARGET_CLOSE_ALL_MS = 300.0
CLOSE_ALL_POSITIONS = 10
REQUEST_DELAY_S = 0.05
WARM_UP_S = 20.0
POSITION_NOTIONAL = 20.0


def register_engine(
    targets: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = targets.add_parser(
        "engine", parents=parents,
        help="signal-to-order latency (auto, semi) and close-all time of the trading engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration", type=float, default=600.0, metavar="S",
        help="simulated seconds of each latency run (default 600)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_engine_bench)


def run_engine_bench(args: argparse.Namespace) -> int:
    from densitytui.logging import close_logging, configure_logging

    config = config_or_exit(args)
    configure_logging(config)
    try:
        with tempfile.TemporaryDirectory(prefix="densitytui-bench-") as folder:
            result = asyncio.run(_bench(config, Path(folder), args.duration))
    finally:
        close_logging()
    if args.json:
        print(json.dumps(result))
    else:
        _print(result)
    return 0


async def _bench(config: Config, folder: Path, duration_s: float) -> dict[str, Any]:
    auto = await _latency_run(config, folder / "auto.db", "auto", duration_s)
    semi = await _latency_run(config, folder / "semi.db", "semi", duration_s)
    close_all = await _close_all_run(config, folder / "close.db")
    return {
        "auto": auto, "semi": semi, "close_all": close_all,
        "targets": {"p99_us": TARGET_P99_US, "close_all_ms": TARGET_CLOSE_ALL_MS},
    }


def _sim_config(config: Config, db: Path, mode: str) -> Config:
    return Config.model_validate({
        **config.model_dump(mode="json"),
        "app": {**config.app.model_dump(mode="json"), "venue": "sim", "mode": mode},
        "storage": {"url": f"sqlite:///{db}"},
        "sim": {**config.sim.model_dump(mode="json"), "speed": 0},
    })


async def _engine(
    config: Config, delay_s: float | None = None,
) -> tuple[TradingEngine, Store, PaperBroker]:
    """The engine on the simulated market; its paper account behind `delay_s` per request."""
    from densitytui.engine.runner import sim_engine
    from densitytui.storage import open_store
    from densitytui.venues.latency import LatencyExchange

    store = await open_store(config.storage)
    brokers: list[PaperBroker] = []

    def account(broker: PaperBroker) -> Exchange:
        brokers.append(broker)
        return broker if delay_s is None else LatencyExchange(broker, delay_s)

    engine = sim_engine(config, store, start_ms=T0, account=account)
    return engine, store, brokers[0]


async def _close(engine: TradingEngine, store: Store) -> None:
    await engine.stop()
    await engine.venue.market.close()
    await engine.exchange.close()
    await store.close()


async def _latency_run(config: Config, db: Path, mode: str, duration_s: float) -> dict[str, Any]:
    engine, store, _ = await _engine(_sim_config(config, db, mode))
    confirms: list[asyncio.Task[None]] = []
    if mode == "semi":

        def confirm(event: Any) -> None:
            if event.kind == "signal" and engine.signals:
                newest = next(reversed(engine.signals))
                confirms.append(asyncio.get_running_loop().create_task(engine.confirm(newest)))

        engine.listeners.append(confirm)
    try:
        await engine.start()
        await engine.run(until_ms=T0 + round(duration_s * 1000))
        await asyncio.gather(*confirms)
    finally:
        await _close(engine, store)
    trigger = "auto" if mode == "auto" else "confirm"
    latency = engine.executor.latency.samples
    samples = latency.get(trigger, [])
    total = sorted(whole for whole, _ in samples)
    engine_only = sorted(whole - journal for whole, journal in samples)
    journal = sorted(journal for _, journal in samples)
    # A breakout on the wall of an open bounce first closes the bounce: shown apart.
    after_close = sorted(whole for whole, _ in latency.get("auto_after_close", []))
    return {
        "after_close_orders": len(after_close),
        "after_close_p50_us": percentile(after_close, 0.50),
        "orders": len(samples),
        "p50_us": percentile(engine_only, 0.50),
        "p99_us": percentile(engine_only, 0.99),
        "max_us": engine_only[-1] if engine_only else 0.0,
        "with_journal_p50_us": percentile(total, 0.50),
        "with_journal_p99_us": percentile(total, 0.99),
        "journal_p50_us": percentile(journal, 0.50),
        "simulated_s": duration_s,
    }


async def _close_all_run(config: Config, db: Path) -> dict[str, Any]:
    engine, store, broker = await _engine(_sim_config(config, db, "manual"), REQUEST_DELAY_S)
    try:
        await engine.start()
        await engine.run(until_ms=T0 + round(WARM_UP_S * 1000))
        opened = await _open_positions(engine, broker)
        started = time.perf_counter()
        flat, _ = await engine.executor.close_all()
        flat_ms = (time.perf_counter() - started) * 1000
        left = await broker.positions()
    finally:
        await _close(engine, store)
    return {
        "positions": opened, "request_delay_ms": REQUEST_DELAY_S * 1000,
        "flat": flat and not left, "flat_ms": flat_ms,
    }


async def _open_positions(engine: TradingEngine, broker: PaperBroker) -> int:
    """Open `CLOSE_ALL_POSITIONS` positions straight on the paper account, one per symbol."""
    from densitytui.model import OrderRequest, OrderType, Side
    from densitytui.strategy.grid import ceil_to_step

    opened = 0
    for symbol, instrument in sorted(engine.instruments.items()):
        book = engine.book(symbol)
        price = book.mid() if book is not None else None
        if not price or instrument.min_qty * price > POSITION_NOTIONAL * 5:
            continue
        qty = max(ceil_to_step(POSITION_NOTIONAL / price, instrument.qty_step), instrument.min_qty)
        side = Side.BUY if opened % 2 == 0 else Side.SELL
        request = OrderRequest(f"bench-{opened}", symbol, side, qty, OrderType.MARKET)
        order = await broker.place_order(request)
        if order.filled_qty > 0:
            opened += 1
        if opened == CLOSE_ALL_POSITIONS:
            break
    if opened < CLOSE_ALL_POSITIONS:
        print(f"densitytui: only {opened} positions could be opened", file=sys.stderr)
    return opened



def _print(result: dict[str, Any]) -> None:
    for name, label in (("auto", "auto: frame -> order"), ("semi", "semi: confirm -> order")):
        run = result[name]
        verdict = "meets" if run["p99_us"] <= TARGET_P99_US else "misses"
        print(
            f"{label:<24} {run['orders']:>4} orders  engine p50 {run['p50_us']:7.0f} µs  "
            f"p99 {run['p99_us']:7.0f} µs ({verdict} p99 <= {TARGET_P99_US:.0f} µs); with the "
            f"fsynced journal write p50 {run['with_journal_p50_us']:7.0f} µs  "
            f"p99 {run['with_journal_p99_us']:7.0f} µs",
        )
        if run["after_close_orders"]:
            print(
                f"{'':<24} {run['after_close_orders']:>4} more orders came after closing a "
                f"bounce on the breaking wall: p50 {run['after_close_p50_us']:7.0f} µs "
                "(close included)",
            )
    close = result["close_all"]
    verdict = "meets" if close["flat"] and close["flat_ms"] <= TARGET_CLOSE_ALL_MS else "misses"
    print(
        f"{'close-all':<24} {close['positions']:>4} positions, "
        f"{close['request_delay_ms']:.0f} ms per request: "
        f"{'flat' if close['flat'] else 'NOT FLAT'} in {close['flat_ms']:.0f} ms "
        f"({verdict} <= {TARGET_CLOSE_ALL_MS:.0f} ms)",
    )
