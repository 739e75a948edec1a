"""`ReplayMarketData` on Bybit's real ob500 history data: times, inferred instrument, and the
look-ahead book the paper broker fills against, checked after every frame against a book
rebuilt independently from the JSON."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

import pytest

from densitytui.config import Config
from densitytui.market.engine import MarketEngine
from densitytui.venues.replay import ReplayFile, ReplayMarketData


def _messages(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _oracle(messages: list[dict], until: int) -> dict[str, dict[float, float]]:
    """The book after every message stamped at or before `until`, from plain dicts."""
    book: dict[str, dict[float, float]] = {"b": {}, "a": {}}
    for message in messages:
        if message["ts"] > until:
            break
        if message["type"] == "snapshot":
            book = {"b": {}, "a": {}}
        for side in ("b", "a"):
            for price, size in message["data"][side]:
                if float(size) == 0:
                    book[side].pop(float(price), None)
                else:
                    book[side][float(price)] = float(size)
    return book


def test_frames_times_and_the_inferred_instrument(xrp_file: Path) -> None:
    messages = _messages(xrp_file)
    pairs = list(ReplayFile(xrp_file))
    assert [ts for ts, _ in pairs] == [m["ts"] for m in messages]
    replay = ReplayMarketData([xrp_file], MarketEngine(Config()).book)
    [instrument] = asyncio.run(replay.instruments())
    first_bid = messages[0]["data"]["b"][0]
    assert instrument.symbol == "XRPUSDT"
    assert instrument.tick_size == pytest.approx(10.0 ** -len(first_bid[0].split(".")[1]))
    size_text = first_bid[1]
    places = len(size_text.split(".")[1]) if "." in size_text else 0
    assert instrument.qty_step == pytest.approx(10.0 ** -places)
    assert replay.inferred() == ["XRPUSDT"]


def test_a_zipped_history_file_reads_the_same(xrp_file: Path, tmp_path: Path) -> None:
    archive = tmp_path / "2024-12-01_XRPUSDT_ob500.data.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(xrp_file, "2024-12-01_XRPUSDT_ob500.data")
    assert list(ReplayFile(archive)) == list(ReplayFile(xrp_file))


@pytest.mark.parametrize("latency_ms", [0, 50, 400])
def test_fill_book_is_the_recorded_book_latency_later(xrp_file: Path, latency_ms: int) -> None:
    messages = _messages(xrp_file)
    market = MarketEngine(Config())
    replay = ReplayMarketData([xrp_file], market.book, latency_ms=latency_ms)

    async def walk() -> int:
        checked = 0
        async for frame in replay.messages():
            market.on_frame(frame)
            book = replay.fill_book("XRPUSDT")
            assert book is not None and book.valid
            expected = _oracle(messages, replay.now_ms() + latency_ms)
            assert dict(book.bids.top(len(book.bids))) == expected["b"]
            assert dict(book.asks.top(len(book.asks))) == expected["a"]
            checked += 1
        return checked

    assert asyncio.run(walk()) == len(messages)
    assert replay.now_ms() == max(m["ts"] for m in messages)
