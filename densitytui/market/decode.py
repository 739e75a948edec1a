"""Bybit v5 public frames and REST answers, turned into market messages and model types.

A stream frame is parsed once with orjson into a small slotted message. Book levels become
lists of prices and sizes as floats, beside the `[price, size]` string lists orjson made (the
book keeps those for `--final-book`, which prints the strings exactly as received). Trades
become compact prints (and `Trade`s on demand), tickers a partial set of `Ticker` fields
(ticker deltas carry only what changed).

Anything without the shape Bybit documents raises `DecodeError`, which names the kind of
message and what was wrong; the market engine counts it per kind and skips it. The REST
decoders take the parsed envelope (or its bytes) and raise `DecodeError` on a non-zero retCode.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isfinite
from typing import Any

from orjson import JSONDecodeError, loads

from densitytui.model import Instrument, Kline, Side, Ticker, Trade

KIND_BOOK = "orderbook"
KIND_TRADE = "publicTrade"
KIND_TICKER = "tickers"
KIND_CONTROL = "control"
KIND_OTHER = "other"
KIND_INVALID = "invalid"
KIND_REST = "rest"

PriceSize = list[str] | tuple[str, str]

TradePrint = tuple[int, float, float, bool]
"""A trade as the engine reads it: (time ms, price, size, taker is the buyer)."""

# `tickers.*` field → (Ticker attribute, multiplier). price24hPcnt is a fraction; we keep percent.
TICKER_FIELDS: dict[str, tuple[str, float]] = {
    "lastPrice": ("last_price", 1.0),
    "price24hPcnt": ("change_24h_pct", 100.0),
    "turnover24h": ("turnover_24h", 1.0),
    "volume24h": ("volume_24h", 1.0),
    "highPrice24h": ("high_24h", 1.0),
    "lowPrice24h": ("low_24h", 1.0),
}


class DecodeError(Exception):
    """A frame or answer that does not have the documented shape; `kind` says which stream."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"malformed {kind} message: {reason}")
        self.kind = kind
        self.reason = reason


class BookSideUpdate:
    """The levels of one book side in one message: parsed numbers beside the exact strings."""

    __slots__ = ("levels", "prices", "sizes")

    def __init__(self, levels: list[PriceSize]) -> None:
        self.levels = levels
        self.prices, self.sizes = parse_levels(levels)


class BookMessage:
    """One `orderbook.{depth}.{symbol}` frame; `bids.levels`/`asks.levels` are as received."""

    __slots__ = ("asks", "bids", "cts", "depth", "is_snapshot", "seq", "symbol", "ts", "u")
    kind = KIND_BOOK

    def __init__(
        self,
        symbol: str,
        depth: int,
        is_snapshot: bool,
        bids: BookSideUpdate,
        asks: BookSideUpdate,
        u: int,
        seq: int,
        ts: int,
        cts: int,
    ) -> None:
        self.symbol = symbol
        self.depth = depth
        self.is_snapshot = is_snapshot
        self.bids = bids
        self.asks = asks
        self.u = u
        self.seq = seq
        self.ts = ts
        # Matching-engine time of the book state: comparable with trade times.
        self.cts = cts


def parse_levels(levels: list[PriceSize]) -> tuple[list[float], list[float]]:
    """`[[price, size], ...]` strings → (prices, sizes); `ValueError` unless every level is a
    pair of finite numbers with a positive price and a size >= 0 (0 deletes).

    Parsing the numbers is most of the work of applying a book message: doing it here, once,
    before the book changes anything, makes a bad message fail whole."""
    prices = [float(price) for price, _ in levels]
    sizes = [float(size) for _, size in levels]
    if levels and (
        min(sizes) < 0.0 or min(prices) <= 0.0 or not isfinite(sum(sizes) + sum(prices))
    ):
        raise ValueError("prices must be positive and sizes non-negative finite numbers")
    return prices, sizes


class TradeMessage:
    """One `publicTrade.{symbol}` frame, trades in time order.

    `prints` holds each trade as `(time, price, size, taker_is_buy)`: what the engine needs,
    four times cheaper to make than a `Trade`. `trades` gives the model objects, made on first
    use, for the consumers that want them (the paper broker, the UI).
    """

    __slots__ = ("_trades", "ids", "prints", "symbol", "ts")
    kind = KIND_TRADE

    def __init__(
        self, symbol: str, ts: int, prints: list[TradePrint], ids: list[str],
    ) -> None:
        self.symbol = symbol
        self.ts = ts
        self.prints = prints
        self.ids = ids
        self._trades: list[Trade] | None = None

    @property
    def trades(self) -> list[Trade]:
        if self._trades is None:
            symbol = self.symbol
            self._trades = [
                Trade(symbol, ts, price, size, Side.BUY if is_buy else Side.SELL, trade_id)
                for (ts, price, size, is_buy), trade_id in zip(self.prints, self.ids, strict=True)
            ]
        return self._trades


class TickerMessage:
    """One `tickers.{symbol}` frame: the `Ticker` fields it carried, already converted."""

    __slots__ = ("fields", "is_snapshot", "symbol", "ts")
    kind = KIND_TICKER

    def __init__(self, symbol: str, is_snapshot: bool, ts: int, fields: dict[str, float]) -> None:
        self.symbol = symbol
        self.is_snapshot = is_snapshot
        self.ts = ts
        self.fields = fields

    def apply_to(self, ticker: Ticker | None) -> Ticker:
        """The ticker after this message: a snapshot starts afresh, a delta updates in place."""
        if self.is_snapshot or ticker is None:
            ticker = Ticker(self.symbol, 0.0, 0.0, 0.0)
        for name, value in self.fields.items():
            setattr(ticker, name, value)
        ticker.ts = self.ts
        return ticker


class ControlMessage:
    """A subscribe/unsubscribe acknowledgement, a pong, or an auth answer."""

    __slots__ = ("conn_id", "op", "req_id", "ret_msg", "success")
    kind = KIND_CONTROL

    def __init__(self, op: str, success: bool, ret_msg: str, req_id: str, conn_id: str) -> None:
        self.op = op
        self.success = success
        self.ret_msg = ret_msg
        self.req_id = req_id
        self.conn_id = conn_id

    @property
    def is_pong(self) -> bool:
        """Public streams answer `op: ping` with `ret_msg: pong`; the private stream, `op: pong`."""
        return self.op == "pong" or (self.op == "ping" and self.ret_msg == "pong")


class OtherMessage:
    """A well-formed frame of a topic the market engine does not use (kline, liquidation...)."""

    __slots__ = ("topic",)
    kind = KIND_OTHER

    def __init__(self, topic: str) -> None:
        self.topic = topic


Message = BookMessage | TradeMessage | TickerMessage | ControlMessage | OtherMessage

def decode_frame(raw: bytes | str) -> Message:
    """One public WebSocket frame → its message; raise `DecodeError` if it is malformed."""
    try:
        frame = loads(raw)
    except JSONDecodeError as exc:
        raise DecodeError(KIND_INVALID, f"not JSON ({exc})") from None
    if type(frame) is not dict:
        raise DecodeError(KIND_INVALID, "not a JSON object")
    topic = frame.get("topic")
    if topic is None:
        if "op" in frame:
            return _control(frame)
        raise DecodeError(KIND_INVALID, "neither a topic nor an op")
    if type(topic) is not str:
        raise DecodeError(KIND_INVALID, "topic is not a string")
    if topic.startswith("publicTrade."):
        return _trades(frame)
    if topic.startswith("orderbook."):
        return _book(frame, topic)
    if topic.startswith("tickers."):
        return _ticker(frame)
    return OtherMessage(topic)


def _book(frame: dict[str, Any], topic: str) -> BookMessage:
    try:
        kind = frame["type"]
        data = frame["data"]
        ts = frame["ts"]
        bids = data["b"]
        asks = data["a"]
        u = data["u"]
        depth = int(topic.split(".")[1])
        if kind == "snapshot":
            is_snapshot = True
        elif kind == "delta":
            is_snapshot = False
        else:
            raise DecodeError(KIND_BOOK, f"type {kind!r} is neither snapshot nor delta")
        if type(bids) is not list or type(asks) is not list:
            raise DecodeError(KIND_BOOK, "data.b and data.a must be lists")
        if type(u) is not int or type(ts) is not int:
            raise DecodeError(KIND_BOOK, "u and ts must be integers")
        seq = data.get("seq", 0)
        cts = frame.get("cts", ts)
        if type(seq) is not int or type(cts) is not int:
            raise DecodeError(KIND_BOOK, "seq and cts must be integers")
        symbol = data["s"]
        if type(symbol) is not str:
            raise DecodeError(KIND_BOOK, "data.s must be a string")
        return BookMessage(
            symbol, depth, is_snapshot, BookSideUpdate(bids), BookSideUpdate(asks), u, seq, ts,
            cts,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DecodeError(KIND_BOOK, _what(exc)) from None


def _trades(frame: dict[str, Any]) -> TradeMessage:
    try:
        ts = frame["ts"]
        data = frame["data"]
        if type(data) is not list or not data:
            raise DecodeError(KIND_TRADE, "data must be a non-empty list")
        symbol = data[0]["s"]
        if type(symbol) is not str:
            raise DecodeError(KIND_TRADE, "s must be a string")
        prints = []
        ids = []
        for item in data:
            trade_ts = item["T"]
            taker = item["S"]
            if type(trade_ts) is not int:
                raise DecodeError(KIND_TRADE, "T must be an integer")
            if taker != "Buy" and taker != "Sell":
                raise DecodeError(KIND_TRADE, f"S is {taker!r}, not Buy or Sell")
            prints.append((trade_ts, float(item["p"]), float(item["v"]), taker == "Buy"))
            ids.append(item["i"])
        return TradeMessage(symbol, ts, prints, ids)
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(KIND_TRADE, _what(exc)) from None


def _ticker(frame: dict[str, Any]) -> TickerMessage:
    try:
        data = frame["data"]
        kind = frame["type"]
        ts = frame["ts"]
        if type(ts) is not int:
            raise DecodeError(KIND_TICKER, "ts must be an integer")
        fields: dict[str, float] = {}
        for key, (name, scale) in TICKER_FIELDS.items():
            text = data.get(key)
            if text:
                fields[name] = float(text) * scale
        symbol = data["symbol"]
        if type(symbol) is not str:
            raise DecodeError(KIND_TICKER, "data.symbol must be a string")
        return TickerMessage(symbol, kind == "snapshot", ts, fields)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(KIND_TICKER, _what(exc)) from None


def _control(frame: dict[str, Any]) -> ControlMessage:
    op = frame["op"]
    if type(op) is not str:
        raise DecodeError(KIND_CONTROL, "op must be a string")
    return ControlMessage(
        op,
        bool(frame.get("success", True)),
        str(frame.get("ret_msg", "")),
        str(frame.get("req_id", "")),
        str(frame.get("conn_id", "")),
    )


def _what(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return f"{type(exc).__name__}: {exc}"


# ---- REST answers -------------------------------------------------------------------------


def _envelope(answer: bytes | str | Mapping[str, Any]) -> Any:
    if not isinstance(answer, bytes | str):
        return answer
    try:
        return loads(answer)
    except JSONDecodeError as exc:
        raise DecodeError(KIND_REST, f"not JSON ({exc})") from None


def rest_result(answer: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The `result` of a REST envelope; `DecodeError` for a non-zero retCode or no result."""
    envelope = _envelope(answer)
    if not isinstance(envelope, Mapping):
        raise DecodeError(KIND_REST, "the answer is not a JSON object")
    code = envelope.get("retCode")
    if code != 0:
        raise DecodeError(KIND_REST, f"retCode {code}: {envelope.get('retMsg', '')}")
    result = envelope.get("result")
    if not isinstance(result, Mapping):
        raise DecodeError(KIND_REST, "no result object")
    return result


def decode_instruments(answer: bytes | str | Mapping[str, Any]) -> tuple[list[Instrument], str]:
    """`/v5/market/instruments-info` → its instruments and the next page cursor ("" at the end)."""
    result = rest_result(answer)
    instruments = []
    try:
        for item in result["list"]:
            lot = item["lotSizeFilter"]
            instruments.append(Instrument(
                symbol=item["symbol"],
                tick_size=float(item["priceFilter"]["tickSize"]),
                qty_step=float(lot["qtyStep"]),
                min_qty=float(lot["minOrderQty"]),
                min_notional=float(lot.get("minNotionalValue") or 0.0),
                max_market_qty=float(lot.get("maxMktOrderQty") or lot["maxOrderQty"]),
                status=item["status"],
                contract_type=item.get("contractType", ""),
                settle_coin=item.get("settleCoin", ""),
                max_leverage=float(item.get("leverageFilter", {}).get("maxLeverage") or 1.0),
            ))
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(KIND_REST, f"instruments-info: {_what(exc)}") from None
    return instruments, str(result.get("nextPageCursor") or "")


def decode_tickers(answer: bytes | str | Mapping[str, Any]) -> list[Ticker]:
    """`/v5/market/tickers` → one `Ticker` per symbol, stamped with the answer's time."""
    envelope = _envelope(answer)
    result = rest_result(envelope)
    ts = int(envelope.get("time") or 0)
    tickers = []
    try:
        for item in result["list"]:
            values = {
                name: float(item[key]) * scale if item.get(key) else 0.0
                for key, (name, scale) in TICKER_FIELDS.items()
            }
            tickers.append(Ticker(symbol=item["symbol"], ts=ts, **values))
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(KIND_REST, f"tickers: {_what(exc)}") from None
    return tickers


def decode_klines(answer: bytes | str | Mapping[str, Any]) -> list[Kline]:
    """`/v5/market/kline` → candles oldest first (Bybit lists them newest first)."""
    result = rest_result(answer)
    try:
        klines = [
            Kline(int(row[0]), float(row[1]), float(row[2]), float(row[3]), float(row[4]),
                  float(row[5]))
            for row in result["list"]
        ]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DecodeError(KIND_REST, f"kline: {_what(exc)}") from None
    klines.sort(key=lambda kline: kline.start)
    return klines


def decode_rest_orderbook(answer: bytes | str | Mapping[str, Any]) -> BookMessage:
    """`/v5/market/orderbook` → a snapshot message, to resync a book after a gap."""
    result = rest_result(answer)
    try:
        bids = result["b"]
        asks = result["a"]
        ts = int(result["ts"])
        return BookMessage(
            result["s"], max(len(bids), len(asks)), True, BookSideUpdate(bids),
            BookSideUpdate(asks), int(result["u"]), int(result.get("seq", 0)), ts,
            int(result.get("cts", ts)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(KIND_REST, f"orderbook: {_what(exc)}") from None
