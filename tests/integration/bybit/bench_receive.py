"""Receive-path benchmark of the Bybit public stream (run by hand, never by pytest).

    python tests/integration/bybit/bench_receive.py [--rate 2000] [--seconds 10]

A server process sends the shared BTCUSDT recording (../shared/data) over loopback WebSocket
at a fixed rate, as Bybit would: the ack, then one frame per message. This process receives it
through `BybitMarketData` three ways, in turn, after a bare client: the stream alone; the stream and `decode_frame`;
the stream and the whole market engine. CPU time of this process (user + system) is divided by
the messages received: the server's CPU is not counted. A bare `websockets` client receiving the same frames is the
yardstick. Then the time from a dropped
connection to a valid book again is measured against the fake exchange, with the default
reconnect settings.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2]))
DATA = HERE.parents[3].parent / "shared" / "data" / "btcusdt-2024-08-08.bybit.jsonl.gz"


def _serve(port_queue: multiprocessing.Queue, rate: float) -> None:  # type: ignore[type-arg]
    from websockets.asyncio.server import ServerConnection, serve

    with gzip.open(DATA) as lines:
        frames = [line.strip() for line in lines if line.strip()]

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send('{"success":true,"ret_msg":"","conn_id":"bench","req_id":"","op":"subscribe"}')
        start = time.perf_counter()
        sent = 0
        while True:
            due = int((time.perf_counter() - start) * rate)
            while sent < due:
                await ws.send(frames[sent % len(frames)], text=True)
                sent += 1
            await asyncio.sleep(0.001)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server:
            port_queue.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


async def _measure(url: str, consume: Callable[[bytes], object], seconds: float,
                   rate: float) -> tuple[float, int]:
    from densitytui.venues.bybit import BybitMarketData, RestClient

    market = BybitMarketData(RestClient("http://127.0.0.1:9", None, threads=1), url, depth=200)
    await market.subscribe(["BTCUSDT"])
    warmup = int(rate)  # the first second: connection, snapshot, caches
    total = warmup + int(rate * seconds)
    count = 0
    cpu0 = 0.0
    async for raw in market.messages():
        consume(raw)
        count += 1
        if count == warmup:
            cpu0 = time.process_time()
        if count == total:
            break
    cpu = time.process_time() - cpu0
    await market.close()
    return cpu / (total - warmup) * 1e6, total - warmup


async def _measure_websockets(url: str, seconds: float, rate: float) -> tuple[float, int]:
    """The yardstick: a bare `websockets` client receiving the same frames."""
    from websockets.asyncio.client import connect

    warmup = int(rate)
    total = warmup + int(rate * seconds)
    cpu0 = 0.0
    async with connect(url, proxy=None, max_size=None) as ws:
        await ws.send('{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}')
        for count in range(1, total + 1):
            await ws.recv(decode=False)
            if count == warmup:
                cpu0 = time.process_time()
    return (time.process_time() - cpu0) / (total - warmup) * 1e6, total - warmup


async def _resync_times(rounds: int) -> list[float]:
    from fake_bybit import FakeBybit

    from densitytui.config import Config
    from densitytui.market.engine import MarketEngine
    from densitytui.venues.bybit import BybitMarketData, RestClient

    config = Config()
    times = []
    async with FakeBybit(["BTCUSDT"]) as fake:
        market = BybitMarketData(
            RestClient(fake.rest_url, None, threads=1), fake.public_ws_url,
            reconnect_min_s=config.bybit.reconnect_min_s,
            reconnect_max_s=config.bybit.reconnect_max_s, rng=random.Random(1),
        )
        await market.subscribe(["BTCUSDT"])
        engine = MarketEngine(config)
        messages = market.messages()
        for _ in range(rounds):
            while True:
                engine.on_frame(await anext(messages))
                book = engine.book("BTCUSDT")
                if book is not None and book.valid:
                    break
            dropped = time.perf_counter()
            fake.drop_public()
            # The book the engine held is void from the drop: it waits for a new snapshot.
            engine.forget("BTCUSDT")
            while True:
                engine.on_frame(await anext(messages))
                book = engine.book("BTCUSDT")
                if book is not None and book.valid:
                    break
            times.append(time.perf_counter() - dropped)
            await asyncio.sleep(1.0)
        await market.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--resyncs", type=int, default=5)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"the shared recording is expected at {DATA}")
    from densitytui.config import Config
    from densitytui.market.decode import decode_frame
    from densitytui.market.engine import MarketEngine

    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, make in (
        ("bare websockets client", None),
        ("stream only", lambda: (lambda raw: None)),
        ("stream + decode_frame", lambda: decode_frame),
        ("stream + market engine", lambda: MarketEngine(Config()).on_frame),
    ):
        server = multiprocessing.Process(target=_serve, args=(ports, args.rate), daemon=True)
        server.start()
        url = f"ws://127.0.0.1:{ports.get(timeout=30)}/v5/public/linear"
        if make is None:
            micros, count = asyncio.run(_measure_websockets(url, args.seconds, args.rate))
        else:
            micros, count = asyncio.run(_measure(url, make(), args.seconds, args.rate))
        server.terminate()
        server.join()
        print(f"{name:24s} {micros:7.1f} us CPU per message ({count} messages at "
              f"{args.rate:.0f}/s)")
    times = asyncio.run(_resync_times(args.resyncs))
    print(f"drop -> valid book again: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} drops "
          f"(reconnect_min_s={Config().bybit.reconnect_min_s})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
