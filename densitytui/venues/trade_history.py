"""Bybit's public trade history files (`BTCUSDT2024-08-08.csv.gz`), read as `publicTrade` frames.

Bybit publishes one CSV a day per symbol, plain or gzipped, with the header
`timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
foreignNotional`; `timestamp` is in seconds with a fraction (`1723075200.1234`). Each row
becomes one v5 `publicTrade.{symbol}` frame holding that trade, stamped with its time in ms,
so the market engine reads a history file exactly as it reads the live stream. The price and
size strings are passed through unchanged. The files are written newest first on some days and
oldest first on others: rows are read in file order, and a file whose times run backwards is
reversed whole (`read_trade_history` sorts nothing else).

A row that cannot be read (missing column, a side that is not Buy or Sell, a time, price or
size that is not a positive number) is skipped and counted, never guessed.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import orjson

GZIP_MAGIC = b"\x1f\x8b"
HEADER = (
    "timestamp", "symbol", "side", "size", "price", "tickDirection", "trdMatchID",
    "grossValue", "homeNotional", "foreignNotional",
)
REQUIRED = ("timestamp", "symbol", "side", "size", "price")


class TradeHistoryError(Exception):
    """A file that is not a Bybit trade history CSV; the message names the file and why."""


@dataclass
class TradeHistoryStats:
    """What reading one file found."""

    rows: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


@contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOWrapper]:
    with path.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if gzipped:
            with gzip.GzipFile(fileobj=raw) as unpacked:
                yield io.TextIOWrapper(unpacked, encoding="utf-8", newline="")
        else:
            yield io.TextIOWrapper(raw, encoding="utf-8", newline="")


def is_trade_history(path: str | Path) -> bool:
    """True when the file (plain or gzipped) starts with Bybit's trade history header."""
    try:
        with _open_text(Path(path)) as text:
            first = text.readline().strip().lstrip("\ufeff")
    except (OSError, EOFError, UnicodeDecodeError):
        return False
    return tuple(first.split(",")[:5]) == REQUIRED


def _ms(text: str) -> int:
    """Seconds with a fraction → whole ms, in decimals (no float rounding at the boundary)."""
    value = Decimal(text)
    if not value.is_finite() or value <= 0:
        raise InvalidOperation
    return int(value * 1000)


def _positive(text: str) -> str:
    value = Decimal(text)
    if not value.is_finite() or value <= 0:
        raise InvalidOperation
    return text


def trade_frame(ts: int, symbol: str, side: str, size: str, price: str, tick: str, trade_id: str,
                ) -> bytes:
    """One Bybit v5 `publicTrade` frame holding one trade."""
    return orjson.dumps({
        "topic": f"publicTrade.{symbol}", "type": "snapshot", "ts": ts,
        "data": [{
            "T": ts, "s": symbol, "S": side, "v": size, "p": price, "L": tick, "i": trade_id,
            "BT": False,
        }],
    })


def _rows(path: Path, stats: TradeHistoryStats) -> Iterator[tuple[int, bytes]]:
    with _open_text(path) as text:
        reader = csv.DictReader(text)
        names = tuple(name.lstrip("\ufeff") for name in (reader.fieldnames or ()))
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise TradeHistoryError(
                f"{path}: not a Bybit trade history CSV (missing {', '.join(missing)})"
            )
        reader.fieldnames = list(names)
        for row in reader:
            stats.rows += 1
            try:
                ts = _ms(row["timestamp"])
                side = row["side"]
                if side not in ("Buy", "Sell"):
                    raise ValueError(f"side {side!r}")
                symbol = row["symbol"].strip()
                if not symbol:
                    raise ValueError("no symbol")
                frame = trade_frame(
                    ts, symbol, side, _positive(row["size"]), _positive(row["price"]),
                    row.get("tickDirection") or "", row.get("trdMatchID") or "",
                )
            except (InvalidOperation, ValueError, TypeError, KeyError, AttributeError) as exc:
                stats.skipped += 1
                reason = type(exc).__name__ if isinstance(exc, InvalidOperation) else str(exc)
                stats.reasons[reason or "bad row"] = stats.reasons.get(reason or "bad row", 0) + 1
                continue
            yield ts, frame


def read_trade_history(
    path: str | Path, stats: TradeHistoryStats | None = None,
) -> Iterator[tuple[int, bytes]]:
    """(time ms, frame) of every good row, oldest first; bad rows counted in `stats`.

    Raises `TradeHistoryError` for a file without the header, OSError when it cannot be read."""
    path = Path(path)
    counts = stats if stats is not None else TradeHistoryStats()
    rows = _rows(path, counts)
    first = next(rows, None)
    if first is None:
        return
    second = next(rows, None)
    if second is None:
        yield first
        return
    if second[0] >= first[0]:
        yield first
        yield second
        yield from rows
        return
    # Newest first: the whole file has to be read to turn it round.
    backwards = [first, second, *rows]
    backwards.reverse()
    yield from backwards
