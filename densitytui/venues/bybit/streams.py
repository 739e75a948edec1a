"""`BybitMarketData`: Bybit's public linear stream through `websockets`, REST for the rest.

One connection carries every subscribed symbol's `orderbook.{depth}`, `publicTrade` and
`tickers` topics, subscribed in small batches (one bad topic fails its whole request; a failed
batch is retried topic by topic so the good ones get through). `messages()` reads the frames
straight off the connection and yields the raw bytes received, control frames (acks, pongs)
included, so the market engine decodes live data and recordings alike; the connection is opened
and reopened by that iteration, with no queue or task in between.

Book sequence (../shared/bybit/PROTOCOL.md): the stream watches each book topic's `u` with a byte
scan (no JSON parse on the hot path). A snapshot or `u == 1` restarts the count; on
`u > last + 1` the book topic is resubscribed, which makes Bybit send a fresh snapshot: the book
heals from the stream, never from the REST book. The engine, which invalidates its book at the
gap, may also call `resync(symbols)`.

Liveness: a JSON ping every `ping_interval_s` (and websockets' protocol pings); a watchdog on
local receive time reconnects when nothing (not even a pong) arrived for `stale_after_s`.
A dropped connection is reconnected with exponential backoff and jitter (seeded RNG), and every
topic is subscribed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from densitytui.market.decode import (
    BOOK_PREFIX,
    DecodeError,
    decode_instruments,
    decode_klines,
    decode_tickers,
)
from densitytui.model import Instrument, Kline, Ticker
from densitytui.venues.base import ExchangeError, MarketData
from densitytui.venues.bybit.backoff import Backoff
from densitytui.venues.bybit.ratelimit import Sleep
from densitytui.venues.bybit.rest import RestClient

log = logging.getLogger(__name__)

TOPIC_PREFIX = b'{"topic":"'
# Bybit's kline intervals in minutes; days, weeks and months have letters.
KLINE_INTERVALS = {1440: "D", 10080: "W", 43200: "M"}
INSTRUMENTS_PAGE = 1000
# Seconds `close()` waits for the server's close frame. Once the engine stops reading, the
# stream's flood fills the receive buffer and the frame can never be read: websockets' default
# (10 s) was the time every stop took.
CLOSE_TIMEOUT_S = 1.0


class BybitMarketData(MarketData):
    """Public data of one Bybit network (see the module docstring)."""

    def __init__(
        self,
        rest: RestClient,
        public_ws_url: str,
        *,
        depth: int = 50,
        ping_interval_s: float = 20.0,
        subscribe_batch: int = 10,
        stale_after_s: float = 30.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rest = rest
        self.url = public_ws_url
        self.depth = depth
        self._ping_interval = ping_interval_s
        self._batch = subscribe_batch
        self._stale_after = stale_after_s
        self._backoff = Backoff(reconnect_min_s, reconnect_max_s, rng or random.Random())
        self._clock = clock
        self._sleep = sleep
        self._symbols: dict[str, None] = {}
        self._ws: ClientConnection | None = None
        self._stream: AsyncIterator[bytes] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._req_ids = itertools.count(1)
        self._pending: dict[str, list[str]] = {}
        self._last_u: dict[bytes, int] = {}
        # Symbols waiting for the snapshot of a resync, with when it was asked.
        self._resyncing: dict[str, float] = {}
        self._resync_tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.last_receive = clock()
        self.connected = asyncio.Event()
        # Counters for the status line and the tests.
        self.connections = 0
        self.gaps = 0
        self.resyncs = 0
        self.stale_reconnects = 0
        self.failed_topics: set[str] = set()

    # ---- REST

    async def instruments(self) -> list[Instrument]:
        found: list[Instrument] = []
        cursor = ""
        seen: set[str] = set()
        while True:
            params: dict[str, object] = {"category": "linear", "limit": INSTRUMENTS_PAGE}
            if cursor:
                params["cursor"] = cursor
            answer = await self.rest.call("get_instruments_info", **params)
            page, cursor = _decoded(decode_instruments, answer)
            found.extend(page)
            if not cursor:
                return found
            if cursor in seen:
                raise ExchangeError(f"instruments-info: page cursor {cursor!r} came twice")
            seen.add(cursor)

    async def tickers(self) -> list[Ticker]:
        answer = await self.rest.call("get_tickers", category="linear")
        tickers: list[Ticker] = _decoded(decode_tickers, answer)
        return tickers

    async def klines(self, symbol: str, interval_min: int, limit: int) -> list[Kline]:
        interval = KLINE_INTERVALS.get(interval_min, str(interval_min))
        answer = await self.rest.call(
            "get_kline", category="linear", symbol=symbol, interval=interval, limit=limit,
        )
        klines: list[Kline] = _decoded(decode_klines, answer)
        return klines

    # ---- subscriptions

    def topics(self, symbol: str) -> list[str]:
        return [f"orderbook.{self.depth}.{symbol}", f"publicTrade.{symbol}", f"tickers.{symbol}"]

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Add symbols; their topics are requested now if connected, else on connecting."""
        self._check_open()
        new = [s for s in dict.fromkeys(symbols) if s not in self._symbols]
        for symbol in new:
            self._symbols[symbol] = None
        ws = self._ws
        if ws is not None and new:
            await self._request(ws, "subscribe", [t for s in new for t in self.topics(s)])

    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        gone = [s for s in dict.fromkeys(symbols) if s in self._symbols]
        for symbol in gone:
            del self._symbols[symbol]
            self._last_u.pop(self.topics(symbol)[0].encode(), None)
        ws = self._ws
        if ws is not None and gone:
            await self._request(ws, "unsubscribe", [t for s in gone for t in self.topics(s)])

    async def resync(self, symbols: Sequence[str]) -> None:
        """Ask for fresh book snapshots: resubscribe these symbols' book topics.

        A symbol already waiting for its snapshot is asked again only once the staleness limit
        has passed without one."""
        ws = self._ws
        now = self._clock()
        for symbol in symbols:
            asked = self._resyncing.get(symbol)
            if symbol not in self._symbols or (
                asked is not None and now - asked < self._stale_after
            ):
                continue
            self._resyncing[symbol] = now
            self.resyncs += 1
            topic = self.topics(symbol)[0]
            self._last_u.pop(topic.encode(), None)
            if ws is not None:
                await self._request(ws, "unsubscribe", [topic])
                await self._request(ws, "subscribe", [topic])

    async def _request(self, ws: ClientConnection, op: str, topics: list[str]) -> None:
        for start in range(0, len(topics), self._batch):
            batch = topics[start:start + self._batch]
            req_id = f"{op}-{next(self._req_ids)}"
            if op == "subscribe":
                self._pending[req_id] = batch
            with contextlib.suppress(ConnectionClosed):
                await ws.send(orjson.dumps({"op": op, "req_id": req_id, "args": batch}), text=True)

    @property
    def unacknowledged(self) -> int:
        """Subscribe requests sent on this connection and not answered yet."""
        return len(self._pending)

    # ---- the stream

    def messages(self) -> AsyncIterator[bytes]:
        """The frames, read straight off the connection (no queue, no task hop: the hot path).

        The connection lives while this is iterated: opened on the first iteration, reopened
        after a drop. Every call returns the same iterator, so a consumer may stop and resume."""
        if self._stream is None:
            self._stream = self._frames()
        return self._stream

    async def _frames(self) -> AsyncIterator[bytes]:
        while not self._closed:
            ws = await self._open()
            if ws is None:
                continue
            keepalive = asyncio.create_task(self._keepalive(ws), name="bybit-public-keepalive")
            self._keepalive_task = keepalive
            try:
                recv = ws.recv
                clock = self._clock
                check_sequence = self._check_sequence
                # The backoff starts over once a connection has carried data, not on connecting:
                # a server that accepts and drops at once must not get a reconnect storm.
                fresh = True
                while True:
                    raw = await recv(decode=False)
                    self.last_receive = clock()
                    if raw.startswith(BOOK_PREFIX):
                        check_sequence(raw)
                    elif not raw.startswith(TOPIC_PREFIX):
                        await self._control(ws, raw)
                    if fresh:
                        fresh = False
                        self._backoff.reset()
                    yield raw
            except ConnectionClosed as exc:
                if not self._closed:
                    log.warning("bybit public stream: %s", exc)
            finally:
                keepalive.cancel()
                self._ws = None
                self.connected.clear()
                await ws.close()
            if not self._closed:
                await self._sleep(self._backoff.next_delay())

    async def _open(self) -> ClientConnection | None:
        """Connect and subscribe every topic; None (after the backoff wait) when it failed."""
        try:
            ws = await connect(
                self.url, proxy=None, max_size=None, open_timeout=10,
                ping_interval=self._ping_interval, ping_timeout=self._stale_after,
                close_timeout=CLOSE_TIMEOUT_S,
            )
        except InvalidURI as exc:
            raise ExchangeError(f"bybit public stream: bad URL {exc}") from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            log.warning("bybit public stream: %s", exc or type(exc).__name__)
            await self._sleep(self._backoff.next_delay())
            return None
        self.connections += 1
        self._pending.clear()
        self._last_u.clear()
        self._resyncing.clear()
        self.last_receive = self._clock()
        self._ws = ws
        await self._request(ws, "subscribe", [t for s in self._symbols for t in self.topics(s)])
        self.connected.set()
        return ws

    @property
    def problem(self) -> str | None:
        """Why market REST is not usable now (an IP ban), for the status line."""
        return self.rest.problem

    @property
    def stale(self) -> bool:
        """Nothing received for longer than the staleness limit (local receive time)."""
        return self._clock() - self.last_receive > self._stale_after

    async def _keepalive(self, ws: ClientConnection) -> None:
        """JSON pings, and a reconnect when the stream went quiet for too long."""
        tick = min(self._ping_interval, self._stale_after / 4)
        last_ping = self._clock()
        while True:
            await self._sleep(tick)
            now = self._clock()
            if now - self.last_receive > self._stale_after:
                self.stale_reconnects += 1
                log.warning("bybit public stream: silent for %.1f s, reconnecting",
                            now - self.last_receive)
                ws.transport.abort()
                return
            if now - last_ping >= self._ping_interval:
                last_ping = now
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(b'{"op":"ping"}', text=True)

    def _check_sequence(self, raw: bytes) -> None:
        """Follow `u` of one book frame; schedule a resync on a gap."""
        end = raw.find(b'"', len(TOPIC_PREFIX))
        topic = raw[len(TOPIC_PREFIX):end]
        at = raw.rfind(b'"u":')
        if at < 0:
            return
        stop = at + 4
        while stop < len(raw) and 48 <= raw[stop] <= 57:
            stop += 1
        try:
            u = int(raw[at + 4:stop])
        except ValueError:
            return
        last = self._last_u.get(topic)
        if u == 1 or b'"type":"snapshot"' in raw[:end + 40]:
            self._last_u[topic] = u
            self._resyncing.pop(topic.rsplit(b".", 1)[1].decode(), None)
        elif last is None or u <= last:
            return
        elif u == last + 1:
            self._last_u[topic] = u
        else:
            self.gaps += 1
            del self._last_u[topic]
            symbol = topic.rsplit(b".", 1)[1].decode()
            task = asyncio.get_running_loop().create_task(self.resync([symbol]))
            self._resync_tasks.add(task)
            task.add_done_callback(self._resync_tasks.discard)

    async def _control(self, ws: ClientConnection, raw: bytes) -> None:
        """Acks: a failed subscribe batch is retried topic by topic; single failures are kept."""
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if not isinstance(frame, dict) or frame.get("op") != "subscribe":
            return
        batch = self._pending.pop(str(frame.get("req_id", "")), None)
        if batch is None or frame.get("success"):
            return
        log.warning("bybit public stream: subscribe failed: %s", frame.get("ret_msg"))
        if len(batch) == 1:
            self.failed_topics.add(batch[0])
            return
        for topic in batch:
            await self._request(ws, "subscribe", [topic])

    # ---- shutdown

    def _check_open(self) -> None:
        if self._closed:
            raise ExchangeError("the Bybit public stream is closed")

    async def close(self) -> None:
        """Close the connection; an iteration of `messages()` then ends."""
        if self._closed:
            return
        self._closed = True
        ws = self._ws
        if ws is not None:
            await ws.close()
        tasks = [*self._resync_tasks, self._keepalive_task]
        for task in tasks:
            if task is not None:
                task.cancel()
        await self.rest.close()


def _decoded(decoder: Callable[..., object], answer: object) -> Any:
    try:
        return decoder(answer)
    except DecodeError as exc:
        raise ExchangeError(str(exc)) from None
