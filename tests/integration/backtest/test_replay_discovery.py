"""Discovery decodes only the frames that teach something, and learns what decoding every frame
of the discovery window learns: the symbols, their printed decimals and last prices."""

from __future__ import annotations

from pathlib import Path

import orjson

from densitytui.market.decode import BookMessage, DecodeError, TradeMessage, decode_frame
from densitytui.venues.replay import ReplayFile, ReplayMarketData


def _every_frame(path: Path, window_ms: int) -> dict[str, tuple[int, int, float]]:
    """The reference: every frame of the window decoded, in order."""
    seen: dict[str, list] = {}
    start = None
    for ts, frame in ReplayFile(path):
        if start is None and ts:
            start = ts
        try:
            message = decode_frame(frame)
        except DecodeError:
            message = None
        if isinstance(message, BookMessage):
            info = seen.setdefault(message.symbol, [-1, -1, 0.0])
            if info[0] < 0 and message.price_decimals >= 0:
                info[0], info[1] = message.price_decimals, message.size_decimals
            if not info[2] and message.bids and message.asks:
                info[2] = (message.bids[0][0] + message.asks[0][0]) / 2
        elif isinstance(message, TradeMessage) and message.prints:
            seen.setdefault(message.symbol, [-1, -1, 0.0])[2] = message.prints[-1].price
        if start is not None and ts - start > window_ms:
            break
    return {symbol: tuple(info) for symbol, info in seen.items()}


def _discovered(path: Path, window_ms: int) -> dict[str, tuple[int, int, float]]:
    replay = ReplayMarketData([path], lambda _: None, discovery_ms=window_ms)
    return {
        symbol: (info.price_decimals, info.size_decimals, info.last_price)
        for symbol, info in replay._discover().items()
    }


def _mixed(tmp_path: Path) -> Path:
    """Two symbols: trades before any book, a trade frame of off-book trades only last, a book
    frame written with spaces (not as the exchange writes it)."""
    frames = [
        {"topic": "publicTrade.AAAUSDT", "type": "snapshot", "ts": 1000, "data": [
            {"T": 1000, "s": "AAAUSDT", "S": "Buy", "v": "1", "p": "2.5", "i": "a1"}]},
        {"topic": "orderbook.50.AAAUSDT", "type": "snapshot", "ts": 1001, "data": {
            "s": "AAAUSDT", "b": [["2.49", "10.0"]], "a": [["2.51", "3.0"]], "u": 1, "seq": 1}},
        {"topic": "publicTrade.AAAUSDT", "type": "snapshot", "ts": 1002, "data": [
            {"T": 1002, "s": "AAAUSDT", "S": "Sell", "v": "2", "p": "2.49", "i": "a2"}]},
        {"topic": "publicTrade.AAAUSDT", "type": "snapshot", "ts": 1003, "data": [
            {"T": 1003, "s": "AAAUSDT", "S": "Sell", "v": "9", "p": "2.4", "i": "a3",
             "BT": True}]},
    ]
    lines = [orjson.dumps(frame) for frame in frames]
    lines.append(
        b'{"topic": "orderbook.50.BBBUSDT", "type": "snapshot", "ts": 1004, "data": '
        b'{"s": "BBBUSDT", "b": [["10.5", "1.25"]], "a": [["10.7", "2"]], "u": 1, "seq": 1}}'
    )
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_discovery_learns_what_every_frame_teaches(
    btc_file: Path, xrp_file: Path, tmp_path: Path,
) -> None:
    for path in (btc_file, xrp_file, _mixed(tmp_path)):
        for window_ms in (0, 5_000, 60_000):
            assert _discovered(path, window_ms) == _every_frame(path, window_ms), (path, window_ms)
    assert _discovered(_mixed(tmp_path), 60_000) == {
        "AAAUSDT": (2, 1, 2.49), "BBBUSDT": (1, 2, 10.6),
    }
