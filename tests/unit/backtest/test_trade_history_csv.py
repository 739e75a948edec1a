"""Bybit trade history CSV files read as publicTrade frames the market engine decodes."""

from __future__ import annotations

import gzip
import heapq
from operator import itemgetter
from pathlib import Path

import pytest

from densitytui.market.decode import TradeMessage, decode_frame
from densitytui.model import Side
from densitytui.venues.replay import ReplayFile
from densitytui.venues.trade_history import (
    TradeHistoryError,
    TradeHistoryStats,
    is_trade_history,
    read_trade_history,
)

HEADER = (
    "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,"
    "foreignNotional\n"
)
ROWS = [
    "1723075200.1234,BTCUSDT,Buy,0.015,61800.20,PlusTick,a1,92700300000,0.015,927.003\n",
    "1723075200.5,BTCUSDT,Sell,0.002,61800.1,MinusTick,a2,12360020000,0.002,123.6002\n",
    "1723075201,BTCUSDT,Buy,1,61801,PlusTick,a3,6180100000000,1,61801\n",
]


def _write(path: Path, rows: list[str], gzipped: bool = False) -> Path:
    text = (HEADER + "".join(rows)).encode()
    path.write_bytes(gzip.compress(text) if gzipped else text)
    return path


@pytest.mark.parametrize("gzipped", [False, True])
def test_rows_become_trade_frames(tmp_path: Path, gzipped: bool) -> None:
    path = _write(tmp_path / "BTCUSDT2024-08-08.csv", ROWS, gzipped)
    assert is_trade_history(path)
    pairs = list(read_trade_history(path))
    assert [ts for ts, _ in pairs] == [1723075200123, 1723075200500, 1723075201000]
    messages = [decode_frame(frame) for _, frame in pairs]
    assert all(isinstance(m, TradeMessage) for m in messages)
    first = messages[0]
    assert isinstance(first, TradeMessage)
    assert first.symbol == "BTCUSDT" and first.ts == 1723075200123
    assert [(p.ts, p.price, p.size, p.taker) for p in first.prints] == [
        (1723075200123, 61800.2, 0.015, Side.BUY),
    ]
    second = messages[1]
    assert isinstance(second, TradeMessage)
    assert [(p.ts, p.price, p.size, p.taker) for p in second.prints] == [
        (1723075200500, 61800.1, 0.002, Side.SELL),
    ]
    assert [t.trade_id for t in second.trades] == ["a2"]


def test_a_newest_first_file_is_turned_round(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", list(reversed(ROWS)))
    assert [ts for ts, _ in read_trade_history(path)] == [
        1723075200123, 1723075200500, 1723075201000,
    ]


def test_bad_rows_are_counted_and_skipped(tmp_path: Path) -> None:
    bad = [
        ROWS[0],
        "1723075200.2,BTCUSDT,Hold,0.1,61800,PlusTick,b1,0,0,0\n",
        "1723075200.3,BTCUSDT,Buy,-1,61800,PlusTick,b2,0,0,0\n",
        "later,BTCUSDT,Buy,1,61800,PlusTick,b3,0,0,0\n",
        ROWS[2],
    ]
    stats = TradeHistoryStats()
    pairs = list(read_trade_history(_write(tmp_path / "t.csv", bad), stats))
    assert [ts for ts, _ in pairs] == [1723075200123, 1723075201000]
    assert (stats.rows, stats.skipped) == (5, 3)


def test_a_file_without_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,price\n1,2\n")
    assert not is_trade_history(path)
    with pytest.raises(TradeHistoryError, match="not a Bybit trade history CSV"):
        list(read_trade_history(path))


def test_replay_files_merge_trades_with_a_book_recording_on_time(tmp_path: Path) -> None:
    trades = _write(tmp_path / "t.csv", ROWS)
    book = tmp_path / "b.jsonl"
    book.write_text(
        '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1723075200300,'
        '"data":{"s":"BTCUSDT","b":[["61800.0","1"]],"a":[["61800.5","1"]],"u":1,"seq":1}}\n'
    )
    merged = list(heapq.merge(ReplayFile(trades), ReplayFile(book), key=itemgetter(0)))
    assert [ts for ts, _ in merged] == [1723075200123, 1723075200300, 1723075200500,
                                       1723075201000]
