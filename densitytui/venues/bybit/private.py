"""Bybit's private stream: orders, executions, positions and the wallet, as they happen.

Authenticates with `GET/realtime` + expiry signed by the API secret, subscribes to `order`,
`execution`, `position` and `wallet`, pings every `ping_interval_s`, reconnects with backoff
and jitter. Bybit may repeat a message or deliver two `Filled` messages for one order (a
cancel racing a fill), and after a reconnect old states can come again, so updates are
filtered before they reach `updates()`:

- an execution is passed once per `execId`;
- an order update is passed only if it is newer (`updatedTime`) than the last one of that
  order, or as new but with a different status or filled quantity;
- a position update is passed only if its `seq` is not older than the last one of its symbol.

The wallet topic is kept as `balance` (the latest figures), not passed on. An auth refusal stops
the stream with one message in `auth_failure`: a wrong key is not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from densitytui.credentials import Credentials
from densitytui.market.decode import DecodeError
from densitytui.model import Balance, Order, Position
from densitytui.venues.base import AccountUpdate
from densitytui.venues.bybit.backoff import Backoff
from densitytui.venues.bybit.payloads import (
    decode_balance,
    decode_execution,
    decode_order,
    decode_position,
    position_seq,
)
from densitytui.venues.bybit.ratelimit import Sleep

log = logging.getLogger(__name__)

TOPICS = ["order", "execution", "position", "wallet"]
# How long a signed auth request stays valid, in ms.
AUTH_EXPIRY_MS = 10_000
# Executions remembered for de-duplication.
SEEN_EXECUTIONS = 10_000
_CLOSE = object()


def auth_signature(secret: str, expires_ms: int) -> str:
    """hex(HMAC_SHA256(secret, "GET/realtime" + expires)) (PROTOCOL.md)."""
    return hmac.new(
        secret.encode(), f"GET/realtime{expires_ms}".encode(), hashlib.sha256,
    ).hexdigest()


class PrivateStream:
    """One account's private stream; iterate `updates()` for orders, fills and positions."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        venue: str,
        ping_interval_s: float = 20.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self._venue = venue
        self._ping_interval = ping_interval_s
        self._backoff = Backoff(reconnect_min_s, reconnect_max_s, rng or random.Random())
        self._wall = wall_clock
        self._sleep = sleep
        self._queue: asyncio.Queue[AccountUpdate | object] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._executions: OrderedDict[str, None] = OrderedDict()
        self._orders: dict[str, tuple[int, str, float]] = {}
        self._positions: dict[str, int] = {}
        self.balance: Balance | None = None
        self.auth_failure: str | None = None
        self.subscribed = asyncio.Event()
        self.connections = 0
        self.duplicates = 0
        self.malformed = 0

    def start(self) -> None:
        if self._runner is None and not self._closed:
            self._runner = asyncio.create_task(self._run(), name="bybit-private")

    async def updates(self) -> AsyncIterator[AccountUpdate]:
        self.start()
        while True:
            item = await self._queue.get()
            if item is _CLOSE:
                return
            yield item  # type: ignore[misc]

    async def _run(self) -> None:
        while not self._closed and self.auth_failure is None:
            try:
                async with connect(
                    self.url, proxy=None, max_size=None, open_timeout=10,
                    ping_interval=self._ping_interval,
                ) as ws:
                    await self._serve(ws)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, ValueError) as exc:
                log.warning("bybit private stream: %s", exc or type(exc).__name__)
            finally:
                self.subscribed.clear()
            if self._closed or self.auth_failure is not None:
                break
            await self._sleep(self._backoff.next_delay())
        if self.auth_failure is not None:
            self._queue.put_nowait(_CLOSE)

    async def _serve(self, ws: ClientConnection) -> None:
        self.connections += 1
        expires = int(self._wall() * 1000) + AUTH_EXPIRY_MS
        signature = auth_signature(self._credentials.api_secret, expires)
        await ws.send(orjson.dumps({
            "op": "auth", "req_id": "auth", "args": [self._credentials.api_key, expires, signature],
        }), text=True)
        answer = orjson.loads(await ws.recv(decode=False))
        if not isinstance(answer, dict) or not answer.get("success"):
            said = answer.get("ret_msg", "") if isinstance(answer, dict) else repr(answer)
            self.auth_failure = (
                f"Bybit refused the private stream login ({self._credentials.mask(str(said))}); "
                "check BYBIT_API_KEY and BYBIT_API_SECRET. Not retrying."
            )
            log.error("bybit private stream: %s", self.auth_failure)
            return
        await ws.send(orjson.dumps({"op": "subscribe", "req_id": "topics", "args": TOPICS}),
                      text=True)
        keepalive = asyncio.create_task(self._ping(ws))
        try:
            while True:
                raw = await ws.recv(decode=False)
                try:
                    frame = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    self.malformed += 1
                    continue
                if not isinstance(frame, dict):
                    self.malformed += 1
                    continue
                if frame.get("op") == "subscribe":
                    if frame.get("success"):
                        self.subscribed.set()
                        self._backoff.reset()
                    continue
                topic = frame.get("topic")
                if topic is not None:
                    self._on_topic(str(topic), frame.get("data"))
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await self._sleep(self._ping_interval)
            with contextlib.suppress(ConnectionClosed):
                await ws.send(b'{"op":"ping"}', text=True)

    def _on_topic(self, topic: str, data: Any) -> None:
        if not isinstance(data, list):
            self.malformed += 1
            return
        for item in data:
            if not isinstance(item, dict):
                self.malformed += 1
                continue
            try:
                update = self._update(topic, item)
            except DecodeError as exc:
                self.malformed += 1
                log.warning("bybit private stream: %s", exc)
                continue
            if update is not None:
                self._queue.put_nowait(update)

    def _update(self, topic: str, item: Any) -> AccountUpdate | None:
        if topic == "execution":
            if item.get("execType", "Trade") != "Trade":
                return None
            fill = decode_execution(item)
            if fill.exec_id in self._executions:
                self.duplicates += 1
                return None
            self._executions[fill.exec_id] = None
            if len(self._executions) > SEEN_EXECUTIONS:
                self._executions.popitem(last=False)
            return fill
        if topic == "order":
            return self._fresh_order(decode_order(item))
        if topic == "position":
            return self._fresh_position(item)
        if topic == "wallet" and item.get("accountType", "UNIFIED") == "UNIFIED":
            self.balance = decode_balance(item)
        return None

    def _fresh_order(self, order: Order) -> Order | None:
        key = order.order_id or order.order_link_id
        state = (order.updated_at, order.status.value, order.filled_qty)
        seen = self._orders.get(key)
        if seen is not None and (state[0] < seen[0] or state == seen):
            self.duplicates += 1
            return None
        self._orders[key] = state
        return order

    def _fresh_position(self, item: Any) -> Position | None:
        position = decode_position(item, self._venue, int(self._wall() * 1000))
        seq = position_seq(item)
        last = self._positions.get(position.symbol, 0)
        if seq < last or (seq and seq == last):
            self.duplicates += 1
            return None
        self._positions[position.symbol] = seq
        return position

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        runner = self._runner
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._queue.put_nowait(_CLOSE)
