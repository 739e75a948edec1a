"""Bybit v5 public frames and REST answers, turned into market messages and model types.

Book and trade frames, the hot path, are decoded by msgspec straight into typed structs:
price and size strings become floats in C (`strict=False`), and the range checks run there
too. A level's price must be a positive finite number and its size a finite number >= 0 (0
deletes the level); a trade's price and size must both be positive and finite. A book frame
with one bad level is malformed whole: applying half a delta would corrupt the book. A trade
frame keeps its good trades and counts the bad ones (`TradeMessage.skipped`).

Book levels become `(price, size)` float tuples. The strings themselves are not kept: Bybit
prints every price of a symbol with the same number of decimals, and every size likewise, so a
snapshot's strings are read once more for those two numbers (`price_decimals`,
`size_decimals`), and the book prints its levels back exactly as received from them.

Trades are decoded straight into `TradePrint` structs, made in C like the book's levels, and
split by what they did to the visible book: `prints` touched it; `off_book` are block trades
(`BT`) and trades against retail-price-improvement orders (`RPI`), which consumed no visible
level (PROTOCOL.md) and so must count neither as eaten nor as aggression. A trade frame's
symbol is its topic's.

Anything without the shape Bybit documents raises `DecodeError`, which names the kind of
message and what was wrong; the market engine counts it per kind and skips it. The REST
decoders take the parsed envelope (or its bytes) and raise `DecodeError` on a non-zero retCode.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import msgspec
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
Level = tuple[float, float]
"""A book level as the book reads it: (price, size); size 0 deletes."""

# `tickers.*` field → (Ticker attribute, multiplier). price24hPcnt is a fraction; we keep percent.
TICKER_FIELDS: dict[str, tuple[str, float]] = {
    "lastPrice": ("last_price", 1.0),
    "price24hPcnt": ("change_24h_pct", 100.0),
    "turnover24h": ("turnover_24h", 1.0),
    "volume24h": ("volume_24h", 1.0),
    "highPrice24h": ("high_24h", 1.0),
    "lowPrice24h": ("low_24h", 1.0),
    "markPrice": ("mark_price", 1.0),
    # A fraction like price24hPcnt: the rate of the next funding time, kept in percent.
    "fundingRate": ("funding_rate_pct", 100.0),
}

SIGNED_TICKER_FIELDS = frozenset({"price24hPcnt", "fundingRate"})
"""The ticker fields that may be negative: the others are prices, turnover and volume."""

_LARGEST = sys.float_info.max
# `le` the largest float rejects infinity; `gt`/`ge` reject NaN (it compares false).
_Price = Annotated[float, msgspec.Meta(gt=0.0, le=_LARGEST)]
_LevelSize = Annotated[float, msgspec.Meta(ge=0.0, le=_LARGEST)]
_TradeSize = Annotated[float, msgspec.Meta(gt=0.0, le=_LARGEST)]


class _BookData(msgspec.Struct):
    s: str
    b: list[tuple[_Price, _LevelSize]]
    a: list[tuple[_Price, _LevelSize]]
    u: int
    seq: int = 0


class _BookFrame(msgspec.Struct):
    topic: str
    type: Literal["snapshot", "delta"]
    ts: int
    data: _BookData
    cts: int | None = None


class _BookText(msgspec.Struct):
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class _BookTextFrame(msgspec.Struct):
    data: _BookText


class TradePrint(msgspec.Struct, gc=False):
    """One trade as the stream prints it, read by the engine (tape, densities): `taker` is
    the aggressor's side (a Buy lifts asks), `block`/`rpi` mark trades that consumed no
    visible level. Field names are ours; the stream's short keys are their JSON names."""

    ts: int = msgspec.field(name="T")
    price: _Price = msgspec.field(name="p")
    size: _TradeSize = msgspec.field(name="v")
    taker: Side = msgspec.field(name="S")
    id: str = msgspec.field(name="i")
    block: bool = msgspec.field(default=False, name="BT")
    rpi: bool = msgspec.field(default=False, name="RPI")
    symbol: str = msgspec.field(default="", name="s")


class _TradeFrame(msgspec.Struct, gc=False):
    topic: str
    ts: int
    data: Annotated[list[TradePrint], msgspec.Meta(min_length=1)]


class _TradeFrameLoose(msgspec.Struct):
    """The frame around trades, each trade checked on its own (after `_TradeFrame` failed)."""

    topic: str
    ts: int
    data: Annotated[list[Any], msgspec.Meta(min_length=1)]


_decode_book = msgspec.json.Decoder(_BookFrame, strict=False).decode
_decode_book_text = msgspec.json.Decoder(_BookTextFrame).decode
_decode_trades = msgspec.json.Decoder(_TradeFrame, strict=False).decode
_decode_trades_loose = msgspec.json.Decoder(_TradeFrameLoose, strict=False).decode
# Bybit writes `topic` first: frames that start so go straight to their typed decoder (the
# Bybit stream reads the book prefix too, to check sequences before decoding).
BOOK_PREFIX = b'{"topic":"orderbook.'
_TRADE_PREFIX = b'{"topic":"publicTrade.'
_TRADE_TOPIC = "publicTrade."
# orderbook.{depth}.{symbol} → (depth, symbol), and publicTrade.{symbol} → symbol, parsed once
# per topic; a stream of ever new topics (a fuzzer, a broken feed) empties them, never grows them.
_book_topics: dict[str, tuple[int, str]] = {}
_trade_symbols: dict[str, str] = {}
_TOPIC_CACHE_SIZE = 4_096


class DecodeError(Exception):
    """A frame or answer that does not have the documented shape; `kind` says which stream."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"malformed {kind} message: {reason}")
        self.kind = kind
        self.reason = reason


class BookMessage(msgspec.Struct, gc=False):
    """One `orderbook.{depth}.{symbol}` frame; `bids`/`asks` as (price, size) floats.

    `cts` is the matching-engine time of the book state, comparable with trade times.
    `price_decimals`/`size_decimals` say how the exchange prints this symbol's numbers (-1:
    not known from this message). A struct rather than a class: made in C, a third of the
    cost, on the hot path."""

    symbol: str
    depth: int
    is_snapshot: bool
    bids: list[Level]
    asks: list[Level]
    u: int
    seq: int
    ts: int
    cts: int
    price_decimals: int = -1
    size_decimals: int = -1
    kind: ClassVar[str] = KIND_BOOK


def decimals(text: str) -> int:
    """Digits after the decimal point of a number as the exchange printed it."""
    point = text.find(".")
    return 0 if point < 0 else len(text) - point - 1


def text_decimals(levels: list[PriceSize]) -> tuple[int, int]:
    """The most decimals among the prices and among the sizes of `[price, size]` strings."""
    price_places = max((decimals(price) for price, _ in levels), default=-1)
    size_places = max((decimals(size) for _, size in levels), default=-1)
    return price_places, size_places


def parse_levels(levels: list[PriceSize]) -> list[Level]:
    """`[[price, size], ...]` strings → `(price, size)` floats; `ValueError` unless every level
    is a pair of finite numbers with a positive price and a size >= 0 (0 deletes).

    For callers holding string levels (the simulated market, tests); the stream decoder
    makes the same checks in C."""
    parsed = [(float(price), float(size)) for price, size in levels]
    for price, size in parsed:
        if not (0.0 < price <= _LARGEST and 0.0 <= size <= _LARGEST):
            raise ValueError(
                f"level {price!r} x {size!r}: prices must be positive and sizes non-negative "
                "finite numbers"
            )
    return parsed


class TradeMessage(msgspec.Struct, gc=False):
    """One `publicTrade.{symbol}` frame, trades in time order.

    `prints` holds the trades that touched the visible book, `off_book` the block and RPI
    trades, `items` all of them as printed (one list with `prints` when none is off book).
    `trades` makes the model objects of all of them, for the consumers that want them (the
    paper broker, the UI). `skipped` counts malformed trades left out."""

    symbol: str
    ts: int
    prints: list[TradePrint]
    off_book: list[TradePrint]
    items: list[TradePrint]
    skipped: int = 0
    kind: ClassVar[str] = KIND_TRADE

    @property
    def trades(self) -> list[Trade]:
        symbol = self.symbol
        return [
            Trade(symbol, item.ts, item.price, item.size, item.taker, item.id)
            for item in self.items
        ]


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
    if type(raw) is str:
        try:
            raw = raw.encode()
        except UnicodeEncodeError as exc:
            raise DecodeError(KIND_INVALID, f"not UTF-8 text ({exc.reason})") from None
    # Any other layout than Bybit's takes the general path below, to the same result.
    if raw.startswith(_TRADE_PREFIX):
        return _trades(raw)
    if raw.startswith(BOOK_PREFIX):
        return _book(raw)
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
    if topic.startswith(_TRADE_TOPIC):
        return _trades(raw)
    if topic.startswith("orderbook."):
        return _book(raw)
    if topic.startswith("tickers."):
        return _ticker(frame)
    return OtherMessage(topic)


def _book(raw: bytes) -> BookMessage:
    try:
        frame = _decode_book(raw)
    except msgspec.DecodeError as exc:
        raise DecodeError(KIND_BOOK, _what(exc)) from None
    data = frame.data
    topic = frame.topic
    parsed = _book_topics.get(topic)
    if parsed is None:
        parsed = _book_topic(topic)
    depth, symbol = parsed
    if data.s != symbol:
        raise DecodeError(KIND_BOOK, f"data.s {data.s!r} is not the topic's symbol {symbol!r}")
    ts = frame.ts
    cts = frame.cts
    message = BookMessage(
        symbol, depth, frame.type == "snapshot", data.b, data.a, data.u, data.seq, ts,
        ts if cts is None else cts,
    )
    if message.is_snapshot or data.u == 1:
        # Rare (one per subscription): read the strings once more for how they are printed.
        try:
            text = _decode_book_text(raw).data
        except msgspec.DecodeError as exc:
            raise DecodeError(KIND_BOOK, f"levels must be [price, size] strings: {exc}") from None
        message.price_decimals, message.size_decimals = text_decimals(text.b + text.a)
    return message


def _book_topic(topic: str) -> tuple[int, str]:
    parts = topic.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2]:
        raise DecodeError(KIND_BOOK, f"topic {topic!r} is not orderbook.<depth>.<symbol>")
    if len(_book_topics) >= _TOPIC_CACHE_SIZE:
        _book_topics.clear()
    parsed = _book_topics[topic] = (int(parts[1]), parts[2])
    return parsed


def _trades(raw: bytes) -> TradeMessage:
    try:
        frame = _decode_trades(raw)
        skipped = 0
    except msgspec.DecodeError as exc:
        frame, skipped = _good_trades(raw, _what(exc))
    topic = frame.topic
    symbol = _trade_symbols.get(topic)
    if symbol is None:
        symbol = _trade_symbol(topic)
    items = frame.data
    off = False
    for item in items:
        if item.symbol != symbol:
            items, skipped = _same_symbol(items, symbol, skipped)
            off = any(item.block or item.rpi for item in items)
            break
        if item.block or item.rpi:
            off = True
    if not off:
        return TradeMessage(symbol, frame.ts, items, [], items, skipped)
    prints = []
    off_book = []
    for item in items:
        (off_book if item.block or item.rpi else prints).append(item)
    return TradeMessage(symbol, frame.ts, prints, off_book, items, skipped)


def _trade_symbol(topic: str) -> str:
    symbol = topic[len(_TRADE_TOPIC):]
    if not topic.startswith(_TRADE_TOPIC) or not symbol or "." in symbol:
        raise DecodeError(KIND_TRADE, f"topic {topic!r} is not publicTrade.<symbol>")
    if len(_trade_symbols) >= _TOPIC_CACHE_SIZE:
        _trade_symbols.clear()
    _trade_symbols[topic] = symbol
    return symbol


def _same_symbol(
    items: list[TradePrint], symbol: str, skipped: int,
) -> tuple[list[TradePrint], int]:
    """The trades whose `s` is the topic's symbol; a frame with none of them is malformed."""
    kept = [item for item in items if item.symbol == symbol]
    if not kept:
        raise DecodeError(KIND_TRADE, f"no trade's s is the topic's symbol {symbol!r}")
    return kept, skipped + len(items) - len(kept)


def _good_trades(raw: bytes, error: str) -> tuple[_TradeFrame, int]:
    """The frame's well-formed trades when some are not, and how many were left out; a frame
    whose envelope is wrong, or without one good trade, is a `DecodeError`."""
    try:
        loose = _decode_trades_loose(raw)
    except msgspec.DecodeError:
        raise DecodeError(KIND_TRADE, error) from None
    good = []
    for item in loose.data:
        try:
            good.append(msgspec.convert(item, TradePrint, strict=False))
        except msgspec.ValidationError:
            continue
    if not good:
        raise DecodeError(KIND_TRADE, error)
    return _TradeFrame(loose.topic, loose.ts, good), len(loose.data) - len(good)


def _ticker(frame: dict[str, Any]) -> TickerMessage:
    try:
        data = frame["data"]
        kind = frame["type"]
        ts = frame["ts"]
        if type(ts) is not int:
            raise DecodeError(KIND_TICKER, "ts must be an integer")
        symbol = data["symbol"]
        if type(symbol) is not str:
            raise DecodeError(KIND_TICKER, "data.symbol must be a string")
        if frame["topic"] != f"tickers.{symbol}":
            raise DecodeError(
                KIND_TICKER, f"data.symbol {symbol!r} is not the topic's ({frame['topic']!r})"
            )
        fields: dict[str, float] = {}
        for key, (name, scale) in TICKER_FIELDS.items():
            text = data.get(key)
            if text:
                fields[name] = _ticker_number(key, text) * scale
        return TickerMessage(symbol, kind == "snapshot", ts, fields)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(KIND_TICKER, _what(exc)) from None


def _ticker_number(key: str, text: object) -> float:
    """A ticker field: a string of a finite number, >= 0 except the 24 h change."""
    if type(text) is not str:
        raise DecodeError(KIND_TICKER, f"data.{key} must be a string, not {text!r}")
    value = float(text)
    if not math.isfinite(value) or (value < 0.0 and key not in SIGNED_TICKER_FIELDS):
        raise DecodeError(KIND_TICKER, f"data.{key} = {text!r}: must be a finite number >= 0")
    return value


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
    if isinstance(exc, msgspec.DecodeError):
        return str(exc)
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


def _rest_number(
    name: str, value: object, *, signed: bool = False, above: float | None = None,
) -> float:
    """A number of a REST answer (a string, or a JSON number): finite, >= 0 unless `signed`,
    and > `above` when given (a tick size of 0 would divide by zero when prices are rounded)."""
    if type(value) not in (str, int, float):
        raise ValueError(f"{name} {value!r} is not a number")
    number = float(value)  # type: ignore[arg-type]  # str, int or float, checked above
    if not math.isfinite(number) or (number < 0 and not signed) or (
        above is not None and number <= above
    ):
        bound = f"> {above:g}" if above is not None else ("finite" if signed else ">= 0")
        raise ValueError(f"{name} {value!r} must be a finite number {bound}")
    return number


def _rest_time(name: str, value: object) -> int:
    """A time in ms of a REST answer: an integer, or a string of digits."""
    if type(value) is int and 0 <= value < 2**63:
        return value
    if type(value) is str and value.isdigit() and len(value) < 19:
        return int(value)
    raise ValueError(f"{name} {value!r} is not a time in ms")


def decode_instruments(answer: bytes | str | Mapping[str, Any]) -> tuple[list[Instrument], str]:
    """`/v5/market/instruments-info` → its instruments and the next page cursor ("" at the end)."""
    result = rest_result(answer)
    instruments = []
    try:
        for item in result["list"]:
            lot = item["lotSizeFilter"]
            symbol = item["symbol"]
            if type(symbol) is not str or not symbol:
                raise ValueError(f"symbol {symbol!r} is not a name")
            instruments.append(Instrument(
                symbol=symbol,
                tick_size=_rest_number("tickSize", item["priceFilter"]["tickSize"], above=0.0),
                qty_step=_rest_number("qtyStep", lot["qtyStep"], above=0.0),
                min_qty=_rest_number("minOrderQty", lot["minOrderQty"]),
                min_notional=_rest_number("minNotionalValue", lot.get("minNotionalValue") or 0),
                max_market_qty=_rest_number(
                    "maxMktOrderQty", lot.get("maxMktOrderQty") or lot["maxOrderQty"],
                ),
                status=str(item["status"]),
                contract_type=str(item.get("contractType", "")),
                settle_coin=str(item.get("settleCoin", "")),
                max_leverage=_rest_number(
                    "maxLeverage", item.get("leverageFilter", {}).get("maxLeverage") or 1,
                ),
            ))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(KIND_REST, f"instruments-info: {_what(exc)}") from None
    return instruments, str(result.get("nextPageCursor") or "")


def decode_tickers(answer: bytes | str | Mapping[str, Any]) -> list[Ticker]:
    """`/v5/market/tickers` → one `Ticker` per symbol, stamped with the answer's time."""
    envelope = _envelope(answer)
    result = rest_result(envelope)
    tickers = []
    try:
        ts = _rest_time("time", envelope.get("time") or 0)
        for item in result["list"]:
            values = {
                name: _rest_number(key, item[key], signed=key in SIGNED_TICKER_FIELDS) * scale
                if item.get(key) else 0.0
                for key, (name, scale) in TICKER_FIELDS.items()
            }
            symbol = item["symbol"]
            if type(symbol) is not str or not symbol:
                raise ValueError(f"symbol {symbol!r} is not a name")
            tickers.append(Ticker(symbol=symbol, ts=ts, **values))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(KIND_REST, f"tickers: {_what(exc)}") from None
    return tickers


def decode_klines(answer: bytes | str | Mapping[str, Any]) -> list[Kline]:
    """`/v5/market/kline` → candles oldest first (Bybit lists them newest first)."""
    result = rest_result(answer)
    try:
        klines = [
            Kline(_rest_time("start", row[0]), *(_rest_number(name, value) for name, value in zip(
                ("open", "high", "low", "close", "volume"), row[1:6], strict=True)))
            for row in result["list"]
        ]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DecodeError(KIND_REST, f"kline: {_what(exc)}") from None
    klines.sort(key=lambda kline: kline.start)
    return klines
