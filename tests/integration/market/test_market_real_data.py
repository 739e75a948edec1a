"""The market engine on real recorded data: exact books, and a real wall followed to the end.

Expectations are computed here from the raw file with plain dicts, not with the code under test.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from densitytui.config import Config, parse_config
from densitytui.market.decode import BookMessage, decode_frame
from densitytui.market.engine import MarketEngine
from densitytui.model import BookSide, DensityEventKind
from densitytui.venues.recording import read_frames

WALL = "61658.00"


def raw_messages(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as lines:
        return [orjson.loads(line) for line in lines if line.strip()]


def test_btc_replay_keeps_200_levels_a_side_never_crossed_no_gap(btc_file: Path) -> None:
    engine = MarketEngine(Config())
    messages = 0
    for frame in read_frames(btc_file):
        engine.on_frame(frame)
        message = decode_frame(frame)
        if isinstance(message, BookMessage):
            messages += 1
            book = engine.book("BTCUSDT")
            assert book is not None and book.valid
            assert (len(book.bids), len(book.asks)) == (200, 200)
            assert not book.crossed()
    assert messages == 6505
    assert engine.stats.gaps == 0
    assert engine.stats.total_malformed == 0
    assert engine.book("BTCUSDT").absent_deletes == 0  # type: ignore[union-attr]


def test_xrp_history_file_keeps_500_levels_a_side(xrp_file: Path) -> None:
    engine = MarketEngine(Config())
    for frame in read_frames(xrp_file):
        engine.on_frame(frame)
        book = engine.book("XRPUSDT")
        assert book is not None and book.valid
        assert (len(book.bids), len(book.asks)) == (500, 500)
        assert not book.crossed()
    assert engine.stats.messages["orderbook"] == 50
    assert engine.stats.gaps == 0


@pytest.fixture(scope="module")
def btc_raw(btc_file: Path) -> list[dict]:
    return raw_messages(btc_file)


def test_the_large_bid_at_61658_is_a_tracked_density_at_the_end(btc_file: Path,
                                                                 btc_raw: list[dict]) -> None:
    final = None
    for message in btc_raw:
        if message["topic"].startswith("orderbook"):
            for price, size in message["data"]["b"]:
                if price == WALL:
                    final = size
    assert final == "6.718"
    engine = MarketEngine(Config())
    for frame in read_frames(btc_file):
        engine.on_frame(frame)
    walls = [d for d in engine.densities("BTCUSDT") if d.side is BookSide.BID and d.price == 61658]
    assert len(walls) == 1
    assert (walls[0].size, walls[0].levels) == (6.718, 1)
    assert walls[0].confirmed


def test_erosion_eaten_and_pulled_of_the_61658_wall_come_from_real_trades(
    btc_file: Path, btc_raw: list[dict],
) -> None:
    # Clusters off, so the density is that one level from the moment it appeared.
    engine = MarketEngine(parse_config({"density": {"cluster_range_pct": 0.0}}))
    appeared = {}
    for frame in read_frames(btc_file):
        for event in engine.on_frame(frame):
            if event.kind is DensityEventKind.APPEARED:
                appeared[event.density.id] = event.ts
    (wall,) = [d for d in engine.densities("BTCUSDT") if d.price == 61658]

    # From the raw file: the book message where it appeared, then every size and every taker
    # sell printed at 61658.00 after that book state.
    start = next(i for i, m in enumerate(btc_raw)
                 if m["topic"].startswith("orderbook") and m["ts"] == appeared[wall.id])
    shown_until = btc_raw[start]["cts"]
    size_then = None
    for message in btc_raw[: start + 1]:
        if message["topic"].startswith("orderbook"):
            for price, size in message["data"]["b"]:
                if price == WALL:
                    size_then = float(size)
    assert size_then is not None and size_then * 61658 >= 50_000
    sizes = [size_then]
    sold = []
    for message in btc_raw[start + 1:]:
        if message["topic"].startswith("orderbook"):
            sizes += [float(s) for p, s in message["data"]["b"] if p == WALL]
        else:
            sold += [float(t["v"]) for t in message["data"]
                     if t["p"] == WALL and t["S"] == "Sell" and t["T"] > shown_until]
    peak = max(sizes)
    eaten = sum(sold)
    assert len(sold) >= 10 and eaten > 3.0  # it was really traded into
    assert wall.peak_size == peak == 10.195
    assert wall.size == sizes[-1] == 6.718
    assert wall.eaten == pytest.approx(eaten)
    assert wall.pulled == pytest.approx(max(0.0, peak - sizes[-1] - eaten))
    assert wall.erosion == pytest.approx(1 - 6.718 / 10.195)
    assert not engine.tracker("BTCUSDT").is_spoof(wall)  # type: ignore[union-attr]


def test_the_bid_wall_at_61629_70_is_found_as_soon_as_it_qualifies_with_clusters_off(
    btc_file: Path, btc_raw: list[dict],
) -> None:
    # Defect 1: with cluster_range_pct = 0 this wall passed all four criteria from u 1005150
    # but was handed to the density beside it and appeared only ten messages later.
    bids: dict[str, float] = {}
    for message in btc_raw:
        if message["topic"].startswith("orderbook"):
            for price, size in message["data"]["b"]:
                bids[price] = float(size)
            if message["data"]["u"] == 1005150:
                break
    assert 61629.7 * bids["61629.70"] > 1_200_000
    engine = MarketEngine(parse_config({"density": {"cluster_range_pct": 0.0}}))
    for frame in read_frames(btc_file):
        engine.on_frame(frame)
        book = engine.book("BTCUSDT")
        if book is not None and book.last_u == 1005150:
            break
    assert 61629.7 in {d.price for d in engine.densities("BTCUSDT") if d.side is BookSide.BID}
