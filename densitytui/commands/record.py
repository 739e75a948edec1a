"""`densitytui record`: record a venue's raw public messages into hourly gzip NDJSON files.

Each line is one message exactly as received, with the local receive time added as a last
field of its own: the message's bytes up to its closing brace, then `,"local_recv_ms":MS}`.
Remove that field and the message is byte for byte what the venue sent; the message's own
fields keep their order (Bybit's `topic` first, which the decoder's fast path looks for), and
readers that ignore unknown fields (the decoder, `scan`, replays) read the files unchanged.
Files are named `bybit-public-YYYYMMDD-HH.jsonl.gz` by the UTC hour of receipt; a file is closed
(and so complete) when the hour turns. Only data frames are kept: acks and pongs are not market
data. With --movers the symbols follow the movers, refreshed every `movers.refresh_s`. Runs
until --duration seconds have passed or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from densitytui.commands.settings import config_or_exit
from densitytui.config import Config
from densitytui.market.movers import select_movers
from densitytui.venues.base import ExchangeError, MarketData
from densitytui.venues.factory import BYBIT_VENUES, bybit_market_data
from densitytui.venues.sim import SimMarket, SimMarketData, UnknownSymbol

RECV_FIELD = b',"local_recv_ms":'
COMPRESS_LEVEL = 1
DEPTHS = (1, 50, 200, 1000)


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "record", parents=parents,
        help="record a venue's public messages into hourly gzip NDJSON files",
        description="Subscribe to the order book, trades and tickers of the chosen symbols (or "
        "the current movers) on --venue (paper, demo, testnet and live read Bybit's public "
        "streams; sim the simulated market) and write every message, exactly as received, with "
        'its local receive time added as a last field (...,"local_recv_ms":MS}), to '
        "DIR/bybit-public-YYYYMMDD-HH.jsonl.gz, one file per UTC hour. `scan`, replays and "
        "backtests read them. Exit status 2 on a bad option or when the venue cannot be reached.",
    )
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--symbols", metavar="A,B", help="comma-separated symbols")
    chosen.add_argument(
        "--movers", action="store_true", help="the current movers ([movers] in the config)",
    )
    parser.add_argument(
        "--depth", type=int, choices=DEPTHS, default=None,
        help="order-book depth (default: bybit.orderbook_depth in the config)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="directory for the files")
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S",
        help="seconds to record (default: until Ctrl-C)",
    )
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"densitytui record: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    venue = config.app.venue
    if venue not in ("sim", *BYBIT_VENUES):
        return _fail(f"cannot record venue {venue}: use sim, {', '.join(BYBIT_VENUES)}")
    if args.duration is not None and args.duration <= 0:
        return _fail("--duration must be positive")
    if args.depth is not None:
        bybit = config.bybit.model_copy(update={"orderbook_depth": args.depth})
        config = config.model_copy(update={"bybit": bybit})
    symbols = [s.strip().upper() for s in (args.symbols or "").split(",") if s.strip()]
    if args.symbols is not None and not symbols:
        return _fail("--symbols names no symbol")
    out = Path(args.out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"cannot create {out}: {exc.strerror or exc}")
    try:
        summary = asyncio.run(_record(config, symbols, out, args.duration))
    except KeyboardInterrupt:
        return 0
    except (ExchangeError, UnknownSymbol) as exc:
        return _fail(str(exc))
    print(summary.text())
    return 0


async def _record(
    config: Config, symbols: list[str], out: Path, duration: float | None,
) -> RecordSummary:
    market = _market(config)
    try:
        if symbols:
            return await record(market, symbols, out, duration)

        async def movers() -> list[str]:
            instruments, tickers = await asyncio.gather(market.instruments(), market.tickers())
            return sorted(select_movers(instruments, tickers, config.movers).symbols)

        symbols = await movers()
        if not symbols:
            raise ExchangeError("no movers right now: nothing to record")
        return await record(
            market, symbols, out, duration, movers=movers, refresh_s=config.movers.refresh_s,
        )
    finally:
        await market.close()


def _market(config: Config) -> MarketData:
    if config.app.venue == "sim":
        sim = SimMarket(config.app.seed, None, start_ms=round(time.time() * 1000))
        return SimMarketData(sim, speed=config.sim.speed or 1.0)
    return bybit_market_data(config, config.app.venue)


@dataclass
class RecordSummary:
    symbols: list[str]
    messages: int = 0
    bytes_in: int = 0
    files: list[Path] = field(default_factory=list)

    def text(self) -> str:
        names = ", ".join(str(path) for path in self.files) or "none"
        return (
            f"recorded {self.messages} messages ({self.bytes_in} bytes) of "
            f"{', '.join(self.symbols)} into {names}"
        )


class HourlyWriter:
    """Gzip NDJSON files, one per UTC hour of receipt."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: list[Path] = []
        self._hour = -1
        self._file: gzip.GzipFile | None = None

    def write(self, raw: bytes, recv_ms: int) -> None:
        hour = recv_ms // 3_600_000
        if hour != self._hour:
            self._open(hour)
        assert self._file is not None
        self._file.write(stamped(raw, recv_ms))

    def _open(self, hour: int) -> None:
        self.close()
        self._hour = hour
        start = datetime.fromtimestamp(hour * 3600, UTC)
        path = self.out / f"bybit-public-{start:%Y%m%d-%H}.jsonl.gz"
        # Append: a restart within the hour adds a gzip member, which readers take in turn.
        self._file = gzip.GzipFile(path, "ab", compresslevel=COMPRESS_LEVEL, mtime=0)
        if path not in self.files:
            self.files.append(path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def stamped(raw: bytes, recv_ms: int) -> bytes:
    """One line: the message's own fields, then the receive time as a field of its own."""
    raw = raw.strip()
    if b"\n" in raw:
        raw = orjson.dumps(orjson.loads(raw))
    if raw.endswith(b"}") and raw != b"{}":
        return b"%s%s%d}\n" % (raw[:-1], RECV_FIELD, recv_ms)
    return b'{"raw":%s%s%d}\n' % (orjson.dumps(raw.decode()), RECV_FIELD, recv_ms)


async def record(
    market: MarketData,
    symbols: Sequence[str],
    out: Path,
    duration: float | None,
    *,
    movers: Callable[[], Awaitable[list[str]]] | None = None,
    refresh_s: float = 300.0,
    wall_clock: Callable[[], float] = time.time,
) -> RecordSummary:
    """Subscribe `symbols` and write their data frames until `duration` seconds have passed.

    With `movers`, the symbols follow it every `refresh_s`: new movers are subscribed, symbols
    that dropped out unsubscribed (a failed refresh keeps the current set)."""
    summary = RecordSummary(list(symbols))
    writer = HourlyWriter(out)
    await market.subscribe(symbols)
    current = set(symbols)

    async def follow(choose: Callable[[], Awaitable[list[str]]]) -> None:
        while True:
            await asyncio.sleep(refresh_s)
            try:
                chosen = await choose()
            except ExchangeError:
                continue
            added = [s for s in chosen if s not in current]
            removed = sorted(current - set(chosen))
            if added:
                await market.subscribe(added)
                summary.symbols.extend(added)
            if removed:
                await market.unsubscribe(removed)
            current.clear()
            current.update(chosen)

    async def consume() -> None:
        async for raw in market.messages():
            if not raw.startswith(b'{"topic"') and b'"topic"' not in raw[:200]:
                continue
            writer.write(raw, int(wall_clock() * 1000))
            summary.messages += 1
            summary.bytes_in += len(raw)

    tasks = [asyncio.create_task(consume())]
    if movers is not None:
        tasks.append(asyncio.create_task(follow(movers)))
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(tasks[0]), duration)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        writer.close()
        summary.files = writer.files
    return summary
