"""`FakeBybit`: a local Bybit v5 exchange on 127.0.0.1 for tests.

REST (signed, with Bybit's envelope, retCodes and rate-limit headers) on an HTTP port; the public
linear stream at `/v5/public/linear` and the private stream at `/v5/private` on a WebSocket port.
Its market is the simulated market (every symbol stepped in real time) and its matching is the
paper broker, fed with the fake's own books and trades. `faults` switches misbehaviour on.

    async with FakeBybit(symbols=["BTCUSDT"]) as fake:
        fake.rest_url, fake.public_ws_url, fake.private_ws_url
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from densitytui.market.book import OrderBook
from densitytui.market.decode import BookMessage, TradeMessage, decode_frame
from densitytui.model import Fill, MarginMode, Order, OrderRequest, OrderType, Position, Side
from densitytui.venues.base import ExchangeError
from densitytui.venues.paper import PaperBroker
from densitytui.venues.sim import SPECS, SimMarket
from densitytui.venues.sim.symbol import STEP_MS

from . import payloads
from .http import HttpRequest, HttpResponse, HttpServer

DEPTH = 50
# Per account and endpoint, requests per second (PROTOCOL.md).
ENDPOINT_LIMITS = {
    "/v5/order/create": 10,
    "/v5/order/cancel-all": 10,
    "/v5/position/list": 50,
    "/v5/order/realtime": 50,
    "/v5/account/wallet-balance": 50,
    "/v5/position/set-leverage": 10,
    "/v5/position/trading-stop": 10,
    "/v5/account/set-margin-mode": 5,
    "/v5/account/info": 50,
}
IP_LIMIT = 600
IP_WINDOW_MS = 5_000
BAN_MS = 600_000


@dataclass
class Faults:
    """Misbehaviour, switched on by tests. Counters count down as they fire."""

    # Book deltas (any symbol) not sent to anyone: the next one after makes a gap.
    skip_u: int = 0
    # Symbols whose next book message goes out as a `u == 1` snapshot (a service restart).
    restart_u: set[str] = field(default_factory=set)
    # Send a subscription's first data before its ack.
    data_before_ack: bool = False
    # Never answer subscribe requests (data still flows).
    never_ack: bool = False
    # Answer every signed REST request with 10006 until this wall time (ms).
    rate_limited_until_ms: int = 0
    # Answer every REST request with HTTP 403 until this wall time (ms).
    forbidden_until_ms: int = 0
    # Orders whose answer is lost: the order is placed, the connection dropped unanswered.
    lose_order_responses: int = 0
    # Orders whose answer never comes: the order is placed, the connection left hanging.
    hang_order_responses: int = 0
    # trading-stop answers 10001 and order/create ignores an attached stopLoss.
    reject_stop_loss: bool = False
    # order/create places the order without its attached stopLoss; trading-stop works (an
    # entry whose stop the exchange did not take).
    drop_attached_stop_loss: bool = False
    # Called with each signed REST request's path and params as it arrives ("received") and
    # once it is done but before its answer leaves ("done"); True drops the connection
    # unanswered. A crash harness kills the client from here, at an exact point of its work.
    request_hook: Callable[[str, dict[str, Any], str], bool] | None = None
    # No public data frame goes out until this wall time (ms): a stalled stream. The deltas
    # it swallows leave a `u` gap in every book.
    public_paused_until_ms: int = 0
    # Every REST answer waits `rest_delay_s` before it leaves, until this wall time (ms).
    rest_delay_until_ms: int = 0
    rest_delay_s: float = 0.0


@dataclass
class _Subscriber:
    """One public connection: its topics, with the `u` offset after a simulated restart."""

    ws: ServerConnection
    topics: dict[str, int] = field(default_factory=dict)


class RestError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FakeBybit:
    """See the module docstring. `clock` is wall time in seconds (signatures use it)."""

    def __init__(
        self,
        symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"),
        *,
        seed: int = 7,
        api_key: str = "fake-key",
        api_secret: str = "fake-secret",
        clock: Callable[[], float] = time.time,
        speed: float = 1.0,
        instruments_page_size: int = 500,
        starting_balance: float = 1_000.0,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.faults = Faults()
        self.instruments_page_size = instruments_page_size
        self.margin_mode = MarginMode.ISOLATED
        self._clock = clock
        self._speed = speed
        self.market = SimMarket(seed, list(symbols), start_ms=self.now_ms())
        self.market.subscribe(self.market.symbols)
        self.books = {symbol: OrderBook(symbol, DEPTH) for symbol in self.market.symbols}
        self.broker = PaperBroker(
            self.market.instruments(), self.books.get, self.now_ms,
            starting_balance=starting_balance, name="fake",
        )
        self.leverage: dict[str, float] = {}
        self.orders_received: list[dict[str, Any]] = []
        self.orders_received_at: list[int] = []
        # REST answers the faults changed: "lost", "10006", "delayed".
        self.answers_faulted: Counter[str] = Counter()
        # What the public stream told its subscribers, by wall time (ms): a book's `gap` (a
        # delta it never sent, a dropped connection) and `snapshot` (one sent), per symbol;
        # and the silences of book and trade data longer than `silence_ms` (start, end).
        self.book_log: list[tuple[int, str, str]] = []
        self.silence_ms = 1_000
        self.silences: list[tuple[int, int]] = []
        self._last_data_sent = 0
        self.requests: list[tuple[str, str]] = []
        self.public: list[_Subscriber] = []
        self.private: dict[ServerConnection, set[str]] = {}
        self.public_connections = 0
        self._conn_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._endpoint_windows: dict[tuple[str, int], int] = {}
        self._ip_window: tuple[int, int] = (0, 0)
        self._http = HttpServer(self._handle_rest)
        self._ws: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._order_ids: dict[str, str] = {}
        self._closing = asyncio.Event()
        self._orders_open = asyncio.Event()
        self._orders_open.set()

    # ---- lifecycle

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def __aenter__(self) -> FakeBybit:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        for _ in range(2):
            self._step()
        await self._http.start()
        self._ws = await serve(self._handle_ws, "127.0.0.1", 0, ping_interval=None)
        self._tasks = [
            asyncio.create_task(self._run_market()),
            asyncio.create_task(self._run_private()),
        ]

    async def close(self) -> None:
        self._closing.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.broker.close()
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
        await self._http.close()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    @property
    def _ws_port(self) -> int:
        assert self._ws is not None
        return int(self._ws.sockets[0].getsockname()[1])

    @property
    def public_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._ws_port}/v5/public/linear"

    @property
    def private_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._ws_port}/v5/private"

    # ---- faults that act at once

    def drop_public(self) -> int:
        """Cut every public connection without a close frame; returns how many were cut."""
        dropped = 0
        for subscriber in list(self.public):
            subscriber.ws.transport.abort()
            dropped += 1
        if dropped:
            now = self.now_ms()
            self.book_log.extend((now, symbol, "gap") for symbol in self.books)
        return dropped

    def drop_private(self) -> None:
        for ws in list(self.private):
            ws.transport.abort()

    # ---- the market

    async def _run_market(self) -> None:
        """Step the simulated market in real time (scaled by `speed`) and fan frames out."""
        interval = STEP_MS / 1000 / self._speed
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            frames = self._step()
            for frame in frames:
                await self._publish(frame)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def _step(self) -> list[tuple[str, bytes]]:
        out = []
        for raw in self.market.step():
            message = decode_frame(raw)
            if isinstance(message, BookMessage):
                self.books[message.symbol].apply_message(message)
                topic = f"orderbook.{DEPTH}.{message.symbol}"
            elif isinstance(message, TradeMessage):
                self.broker.on_trades(message.trades)
                topic = f"publicTrade.{message.symbol}"
            else:
                topic = f"tickers.{getattr(message, 'symbol', '')}"
            out.append((topic, raw))
        return out

    async def _publish(self, item: tuple[str, bytes]) -> None:
        topic, raw = item
        is_book = topic.startswith("orderbook.")
        paused = self.now_ms() < self.faults.public_paused_until_ms
        if is_book:
            symbol = topic.rsplit(".", 1)[1]
            if symbol in self.faults.restart_u and not paused:
                self.faults.restart_u.discard(symbol)
                await self._restart(topic, symbol)
                return
            if (paused or self.faults.skip_u > 0) and b'"delta"' in raw[:80]:
                if not paused:
                    self.faults.skip_u -= 1
                if self.public:
                    self.book_log.append((self.now_ms(), symbol, "gap"))
                return
        if paused:
            return
        sent = False
        for subscriber in list(self.public):
            offset = subscriber.topics.get(topic)
            if offset is None:
                continue
            frame = raw if not (is_book and offset) else _shift_u(raw, offset)
            await _send(subscriber.ws, frame)
            sent = True
        if sent and not topic.startswith("tickers."):
            self._data_sent()

    def _data_sent(self) -> None:
        """A book or trade frame went out: note the silence it ends, if long."""
        now = self.now_ms()
        if self._last_data_sent and now - self._last_data_sent > self.silence_ms:
            self.silences.append((self._last_data_sent, now))
        self._last_data_sent = now

    async def _restart(self, topic: str, symbol: str) -> None:
        """Everyone on `topic` gets a `u == 1` snapshot; later deltas count on from there."""
        book = self.books[symbol]
        for subscriber in list(self.public):
            if topic in subscriber.topics:
                subscriber.topics[topic] = book.last_u - 1
                await _send(subscriber.ws, self._book_snapshot(symbol, 1))
                self.book_log.append((self.now_ms(), symbol, "snapshot"))
                self._data_sent()

    def _book_snapshot(self, symbol: str, u: int | None = None) -> bytes:
        book = self.books[symbol]
        top = book.raw_top(DEPTH)
        now = self.market.now_ms
        return orjson.dumps({
            "topic": f"orderbook.{DEPTH}.{symbol}",
            "type": "snapshot",
            "ts": now,
            "data": {
                "s": symbol, "b": top["bids"], "a": top["asks"],
                "u": book.last_u if u is None else u, "seq": book.seq,
            },
            "cts": now,
        })

    # ---- public WebSocket

    async def _handle_ws(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        if path == "/v5/public/linear":
            await self._serve_public(ws)
        elif path == "/v5/private":
            await self._serve_private(ws)
        else:
            await ws.close(1008, "unknown path")

    async def _serve_public(self, ws: ServerConnection) -> None:
        conn_id = f"fake-public-{next(self._conn_ids)}"
        subscriber = _Subscriber(ws)
        self.public.append(subscriber)
        self.public_connections += 1
        try:
            async for raw in ws:
                request = json.loads(raw)
                op = request.get("op")
                req_id = request.get("req_id", "")
                if op == "ping":
                    await _send(ws, orjson.dumps({
                        "success": True, "ret_msg": "pong", "conn_id": conn_id,
                        "req_id": req_id, "op": "ping",
                    }))
                elif op in ("subscribe", "unsubscribe"):
                    await self._public_subscription(subscriber, op, request, conn_id)
        except ConnectionClosed:
            pass
        finally:
            self.public.remove(subscriber)

    async def _public_subscription(
        self, subscriber: _Subscriber, op: str, request: dict[str, Any], conn_id: str,
    ) -> None:
        args = request.get("args") or []
        bad = next((topic for topic in args if not self._known_topic(topic)), None)
        ack = {
            "success": bad is None,
            "ret_msg": "" if bad is None else f"error:handler not found,topic:{bad}",
            "conn_id": conn_id,
            "req_id": request.get("req_id", ""),
            "op": op,
        }
        if bad is not None or op == "unsubscribe":
            if bad is None:
                for topic in args:
                    subscriber.topics.pop(topic, None)
            if not self.faults.never_ack:
                await _send(subscriber.ws, orjson.dumps(ack))
            return
        first = [frame for topic in args if (frame := self._first_frame(subscriber, topic))]
        if self.faults.data_before_ack:
            for frame in first:
                await _send(subscriber.ws, frame)
        if not self.faults.never_ack:
            await _send(subscriber.ws, orjson.dumps(ack))
        if not self.faults.data_before_ack:
            for frame in first:
                await _send(subscriber.ws, frame)
        for topic in args:
            if topic.startswith("orderbook."):
                self.book_log.append((self.now_ms(), topic.rsplit(".", 1)[1], "snapshot"))
                self._data_sent()

    def _known_topic(self, topic: str) -> bool:
        parts = topic.split(".")
        if len(parts) == 3 and parts[0] == "orderbook":
            return parts[1] == str(DEPTH) and parts[2] in self.books
        return len(parts) == 2 and parts[0] in ("publicTrade", "tickers") and parts[1] in self.books

    def _first_frame(self, subscriber: _Subscriber, topic: str) -> bytes | None:
        """Subscribe `topic`; the snapshot Bybit sends first (books and tickers)."""
        subscriber.topics[topic] = 0
        kind, symbol = topic.split(".")[0], topic.rsplit(".", 1)[1]
        if kind == "orderbook":
            return self._book_snapshot(symbol)
        if kind == "tickers":
            sim = self.market.sim(symbol)
            now = self.market.now_ms
            return orjson.dumps({
                "topic": topic, "type": "snapshot",
                "data": {"symbol": symbol, **sim.ticker_fields(now)}, "cs": now, "ts": now,
            })
        return None

    # ---- private WebSocket

    async def _serve_private(self, ws: ServerConnection) -> None:
        conn_id = f"fake-private-{next(self._conn_ids)}"
        authed = False
        try:
            async for raw in ws:
                request = json.loads(raw)
                op = request.get("op")
                req_id = request.get("req_id", "")
                if op == "ping":
                    await _send(ws, orjson.dumps({
                        "req_id": req_id, "op": "pong", "args": [str(self.now_ms())],
                        "conn_id": conn_id,
                    }))
                elif op == "auth":
                    problem = self._ws_auth_problem(request.get("args") or [])
                    authed = problem is None
                    await _send(ws, orjson.dumps({
                        "success": authed, "ret_msg": problem or "", "op": "auth",
                        "conn_id": conn_id, "req_id": req_id,
                    }))
                    if not authed:
                        await ws.close()
                        return
                elif op == "subscribe":
                    if not authed:
                        await _send(ws, orjson.dumps({
                            "success": False, "ret_msg": "Request not authorized",
                            "op": "subscribe", "conn_id": conn_id, "req_id": req_id,
                        }))
                        continue
                    self.private.setdefault(ws, set()).update(request.get("args") or [])
                    if not self.faults.never_ack:
                        await _send(ws, orjson.dumps({
                            "success": True, "ret_msg": "", "op": "subscribe",
                            "conn_id": conn_id, "req_id": req_id,
                        }))
        except ConnectionClosed:
            pass
        finally:
            self.private.pop(ws, None)

    def _ws_auth_problem(self, args: list[Any]) -> str | None:
        if len(args) != 3:
            return "Params Error"
        key, expires, signature = args
        if key != self.api_key:
            return "Invalid apikey"
        if int(expires) <= self.now_ms():
            return "Params Error: request expired"
        expected = _hmac(self.api_secret, f"GET/realtime{int(expires)}")
        if not hmac.compare_digest(expected, str(signature)):
            return "Invalid sign"
        return None

    async def _run_private(self) -> None:
        """The paper broker's updates, as Bybit's private topics."""
        async for update in self.broker.updates():
            if isinstance(update, Order):
                self._order_ids[update.order_link_id or update.order_id] = update.order_id
                await self._push("order", [payloads.order(update)])
            elif isinstance(update, Fill):
                order_id = self._order_ids.get(update.order_link_id, "")
                await self._push("execution", [payloads.execution(update, order_id)])
            elif isinstance(update, Position):
                await self._push("position", [
                    payloads.position(update, rest=False, seq=next(self._ids)),
                ])
                await self._push("wallet", [payloads.wallet(await self.broker.balance())])

    async def push_private(self, topic: str, data: list[dict[str, Any]]) -> None:
        """Send one private-topic message to every connection subscribed to `topic`."""
        await self._push(topic, data)

    async def _push(self, topic: str, data: list[dict[str, Any]]) -> None:
        frame = orjson.dumps({
            "id": f"fake-{next(self._ids)}", "topic": topic,
            "creationTime": self.now_ms(), "data": data,
        })
        for ws, topics in list(self.private.items()):
            if topic in topics:
                await _send(ws, frame)

    # ---- REST

    async def _handle_rest(self, request: HttpRequest) -> HttpResponse | None:
        now = self.now_ms()
        self.requests.append((request.method, request.path))
        if now < self.faults.forbidden_until_ms or self._over_ip_limit(now):
            return HttpResponse(403, b"403 Forbidden", {"Content-Type": "text/html"})
        route = ROUTES.get((request.method, request.path))
        if route is None:
            return HttpResponse(404, b'{"retCode":404,"retMsg":"Not Found"}')
        handler, signed = route
        if request.method == "GET":
            params = dict(parse_qsl(request.query, keep_blank_values=True))
            payload = request.query
        else:
            try:
                params = json.loads(request.body or b"{}")
            except ValueError:
                return self._answer(10001, "params error: body is not JSON", {}, now)
            payload = request.body.decode()
        headers: dict[str, str] = {}
        if signed:
            try:
                self._check_signature(request, payload, now)
            except RestError as exc:
                return self._answer(exc.code, exc.message, {}, now)
            limit, remaining, reset = self._count(request.path, now)
            headers = {
                "X-Bapi-Limit": str(limit),
                "X-Bapi-Limit-Status": str(max(0, remaining)),
                "X-Bapi-Limit-Reset-Timestamp": str(reset),
            }
            if now < self.faults.rate_limited_until_ms:
                self.answers_faulted["10006"] += 1
                headers["X-Bapi-Limit-Status"] = "0"
                headers["X-Bapi-Limit-Reset-Timestamp"] = str(self.faults.rate_limited_until_ms)
                return self._answer(10006, "Too many visits!", {}, now, headers)
            if remaining < 0:
                return self._answer(10006, "Too many visits!", {}, now, headers)
        hook = self.faults.request_hook
        if hook is not None and hook(request.path, params, "received"):
            return None
        try:
            result = await handler(self, params)
        except RestError as exc:
            return self._answer(exc.code, exc.message, {}, now, headers)
        if result is LOST:
            return None
        if hook is not None and hook(request.path, params, "done"):
            return None
        if self.now_ms() < self.faults.rest_delay_until_ms:
            self.answers_faulted["delayed"] += 1
            await asyncio.sleep(self.faults.rest_delay_s)
        return self._answer(0, "OK", result, now, headers)

    def _answer(
        self, code: int, message: str, result: dict[str, Any], now: int,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        body = orjson.dumps({
            "retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": now,
        })
        return HttpResponse(200, body, headers or {})

    def _over_ip_limit(self, now: int) -> bool:
        window, count = self._ip_window
        current = now // IP_WINDOW_MS
        count = count + 1 if window == current else 1
        self._ip_window = (current, count)
        if count > IP_LIMIT:
            self.faults.forbidden_until_ms = now + BAN_MS
            return True
        return False

    def _check_signature(self, request: HttpRequest, payload: str, now: int) -> None:
        key = request.headers.get("x-bapi-api-key", "")
        if key != self.api_key:
            raise RestError(10003, "API key is invalid.")
        try:
            timestamp = int(request.headers.get("x-bapi-timestamp", ""))
            window = int(request.headers.get("x-bapi-recv-window", "5000"))
        except ValueError:
            raise RestError(10001, "params error: X-BAPI-TIMESTAMP must be a number") from None
        if not now - window <= timestamp < now + 1000:
            raise RestError(
                10002,
                f"invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{timestamp}],server_timestamp[{now}],recv_window[{window}]",
            )
        expected = _hmac(self.api_secret, f"{timestamp}{key}{window}{payload}")
        if not hmac.compare_digest(expected, request.headers.get("x-bapi-sign", "")):
            raise RestError(10004, "error sign! origin_string[" + f"{timestamp}{key}{window}" + "]")

    def _count(self, path: str, now: int) -> tuple[int, int, int]:
        """Fixed one-second windows per endpoint: (limit, remaining after this one, reset ms)."""
        limit = ENDPOINT_LIMITS.get(path, 50)
        second = now // 1000
        used = self._endpoint_windows.get((path, second), 0) + 1
        self._endpoint_windows[(path, second)] = used
        return limit, limit - used, (second + 1) * 1000

    # ---- REST handlers

    async def _time(self, params: dict[str, Any]) -> dict[str, Any]:
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    async def _instruments(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        listed = [payloads.instrument(SPECS[s]) for s in self.market.symbols]
        listed.append(payloads.USDC_PERP)
        if params.get("symbol"):
            listed = [item for item in listed if item["symbol"] == params["symbol"]]
        size = min(int(params.get("limit") or 500), self.instruments_page_size)
        start = int(params["cursor"].removeprefix("offset=")) if params.get("cursor") else 0
        page = listed[start:start + size]
        following = start + size
        cursor = f"offset%3D{following}" if following < len(listed) else ""
        return {"category": "linear", "list": page, "nextPageCursor": cursor}

    async def _tickers(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        now = self.market.now_ms
        items = [
            {"symbol": symbol, **self.market.sim(symbol).ticker_fields(now)}
            for symbol in self.market.symbols
            if not params.get("symbol") or params["symbol"] == symbol
        ]
        return {"category": "linear", "list": items}

    async def _kline(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        symbol = params.get("symbol", "")
        if symbol not in self.books:
            raise RestError(10001, "params error: symbol invalid")
        interval = int(params.get("interval", "60"))
        limit = int(params.get("limit") or 200)
        rows = [
            [str(k.start), payloads.num(k.open), payloads.num(k.high), payloads.num(k.low),
             payloads.num(k.close), payloads.num(k.volume), payloads.num(k.volume * k.close)]
            for k in reversed(self.market.klines(symbol, interval, limit))
        ]
        return {"symbol": symbol, "category": "linear", "list": rows}

    async def _orderbook(self, params: dict[str, Any]) -> dict[str, Any]:
        symbol = params.get("symbol", "")
        book = self.books.get(symbol)
        if book is None:
            raise RestError(10001, "params error: symbol invalid")
        top = book.raw_top(int(params.get("limit") or 25))
        now = self.market.now_ms
        return {"s": symbol, "b": top["bids"], "a": top["asks"], "ts": now, "u": book.last_u,
                "seq": book.seq, "cts": now}

    def hold_orders(self) -> None:
        """Order requests wait unanswered, not lost, until `release_orders()`."""
        self._orders_open.clear()

    def release_orders(self) -> None:
        self._orders_open.set()

    async def _create(self, params: dict[str, Any]) -> Any:
        _category(params)
        await self._orders_open.wait()
        self.orders_received.append(dict(params))
        self.orders_received_at.append(self.now_ms())
        try:
            request = OrderRequest(
                order_link_id=str(params.get("orderLinkId", "")),
                symbol=str(params["symbol"]),
                side=Side(params["side"]),
                qty=float(params["qty"]),
                order_type=OrderType(params.get("orderType", "Market")),
                stop_loss=(
                    float(params["stopLoss"])
                    if params.get("stopLoss") and not (
                        self.faults.reject_stop_loss or self.faults.drop_attached_stop_loss)
                    else None
                ),
                reduce_only=bool(params.get("reduceOnly", False)),
            )
        except (KeyError, ValueError) as exc:
            raise RestError(10001, f"params error: {exc}") from None
        if not request.order_link_id:
            raise RestError(10001, "params error: orderLinkId is required by this fake")
        if request.reduce_only and params.get("stopLoss"):
            raise RestError(10001, "params error: reduceOnly order can not set TP/SL")
        try:
            order = await self.broker.place_order(request)
        except ExchangeError as exc:
            if exc.ret_code is None:
                # Bybit accepts a market order that finds no liquidity and cancels it later.
                found = await self.broker.order_by_link_id(request.symbol, request.order_link_id)
                if found is not None:
                    return {"orderId": found.order_id, "orderLinkId": found.order_link_id}
            raise RestError(exc.ret_code or 10001, exc.ret_msg) from None
        if self.faults.lose_order_responses > 0:
            self.faults.lose_order_responses -= 1
            self.answers_faulted["lost"] += 1
            return LOST
        if self.faults.hang_order_responses > 0:
            self.faults.hang_order_responses -= 1
            await self._closing.wait()
            return LOST
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    async def _realtime(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        link_id = params.get("orderLinkId")
        symbol = params.get("symbol", "")
        if link_id:
            found = await self.broker.order_by_link_id(symbol, link_id)
            orders = [found] if found is not None else []
        else:
            orders = [o for o in await self.broker.open_orders() if not symbol or o.symbol == symbol]
        return {"category": "linear", "list": [payloads.order(o) for o in orders],
                "nextPageCursor": ""}

    async def _cancel_all(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        if not params.get("symbol") and params.get("settleCoin") != "USDT":
            raise RestError(10001, "params error: symbol or settleCoin is required")
        open_orders = {o.order_id: o for o in await self.broker.open_orders()}
        cancelled = await self.broker.cancel_all()
        return {
            "list": [
                {"orderId": order_id, "orderLinkId": open_orders[order_id].order_link_id}
                for order_id in cancelled if order_id in open_orders
            ],
            "success": "1",
        }

    async def _trading_stop(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        if "tpslMode" not in params or "positionIdx" not in params:
            raise RestError(10001, "params error: tpslMode and positionIdx are required")
        if self.faults.reject_stop_loss:
            raise RestError(10001, "StopLoss rejected by the fake (fault switch)")
        symbol = str(params.get("symbol", ""))
        positions = {p.symbol: p for p in await self.broker.positions()}
        if symbol not in positions:
            raise RestError(10001, "can not set tp/sl/ts for zero position")
        value = float(params.get("stopLoss") or 0)
        current = positions[symbol].stop_loss or 0.0
        if value == current:
            raise RestError(34040, "not modified")
        try:
            await self.broker.set_stop_loss(symbol, value or None)
        except ExchangeError as exc:
            raise RestError(exc.ret_code or 10001, exc.ret_msg) from None
        return {}

    async def _positions(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        symbol = params.get("symbol")
        if not symbol and params.get("settleCoin") != "USDT":
            raise RestError(10001, "params error: symbol or settleCoin is required")
        items = [
            payloads.position(p, rest=True, seq=next(self._ids))
            for p in await self.broker.positions() if not symbol or p.symbol == symbol
        ]
        return {"category": "linear", "list": items, "nextPageCursor": ""}

    async def _wallet(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("accountType") != "UNIFIED":
            raise RestError(10001, "accountType only support UNIFIED")
        return {"list": [payloads.wallet(await self.broker.balance())]}

    async def _account_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"marginMode": self.margin_mode.value, "updatedTime": str(self.now_ms()),
                "unifiedMarginStatus": 4}

    async def _set_margin_mode(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            self.margin_mode = MarginMode(params.get("setMarginMode", ""))
        except ValueError:
            raise RestError(10001, "params error: setMarginMode") from None
        return {"reasons": []}

    async def _set_leverage(self, params: dict[str, Any]) -> dict[str, Any]:
        _category(params)
        symbol = str(params.get("symbol", ""))
        leverage = float(params.get("buyLeverage", 0))
        if float(params.get("sellLeverage", 0)) != leverage:
            raise RestError(10001, "params error: buy leverage must equal sell leverage")
        if self.leverage.get(symbol) == leverage:
            raise RestError(110043, "leverage not modified")
        try:
            await self.broker.set_leverage(symbol, leverage)
        except ExchangeError as exc:
            raise RestError(exc.ret_code or 10001, exc.ret_msg) from None
        self.leverage[symbol] = leverage
        return {}


LOST = object()
Route = tuple[Callable[[FakeBybit, dict[str, Any]], Any], bool]
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/v5/market/time"): (FakeBybit._time, False),
    ("GET", "/v5/market/instruments-info"): (FakeBybit._instruments, False),
    ("GET", "/v5/market/tickers"): (FakeBybit._tickers, False),
    ("GET", "/v5/market/kline"): (FakeBybit._kline, False),
    ("GET", "/v5/market/orderbook"): (FakeBybit._orderbook, False),
    ("POST", "/v5/order/create"): (FakeBybit._create, True),
    ("GET", "/v5/order/realtime"): (FakeBybit._realtime, True),
    ("GET", "/v5/order/history"): (FakeBybit._realtime, True),
    ("POST", "/v5/order/cancel-all"): (FakeBybit._cancel_all, True),
    ("POST", "/v5/position/trading-stop"): (FakeBybit._trading_stop, True),
    ("GET", "/v5/position/list"): (FakeBybit._positions, True),
    ("GET", "/v5/account/wallet-balance"): (FakeBybit._wallet, True),
    ("GET", "/v5/account/info"): (FakeBybit._account_info, True),
    ("POST", "/v5/account/set-margin-mode"): (FakeBybit._set_margin_mode, True),
    ("POST", "/v5/position/set-leverage"): (FakeBybit._set_leverage, True),
}


def _category(params: dict[str, Any]) -> None:
    if params.get("category") != "linear":
        raise RestError(10001, "params error: category only support linear in this fake")


def _hmac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _shift_u(raw: bytes, offset: int) -> bytes:
    frame = orjson.loads(raw)
    frame["data"]["u"] -= offset
    return orjson.dumps(frame)


async def _send(ws: ServerConnection, frame: bytes) -> None:
    """Send a text frame; a connection that went away is the reader's business."""
    with contextlib.suppress(ConnectionClosed):
        await ws.send(frame, text=True)
