"""Simulated frames have Bybit's shapes, and prices and sizes have the instrument's decimals."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from densitytui.venues.sim import SPECS, SimMarket
from densitytui.venues.sim.frames import Formats, fixed


@pytest.mark.parametrize(
    ("units", "scale", "text"),
    [(6180020, 2, "61800.20"), (15, 3, "0.015"), (1250, 0, "1250"), (7, 4, "0.0007"),
     (-5, 2, "-0.05")],
)
def test_fixed_writes_exact_decimals(units: int, scale: int, text: str) -> None:
    assert fixed(units, scale) == text


def test_formats_follow_each_instrument() -> None:
    btc = Formats(SPECS["BTCUSDT"])
    assert btc.price(618002) == "61800.20"
    assert btc.qty(15) == "0.015"
    sol = Formats(SPECS["SOLUSDT"])
    assert sol.price(14862) == "148.620"
    assert sol.qty(3) == "0.3"
    sui = Formats(SPECS["SUIUSDT"])
    assert sui.qty(3) == "30"
    doge = Formats(SPECS["DOGEUSDT"])
    assert doge.price(12048) == "0.12048"


def _frames(seconds: int) -> list[dict[str, object]]:
    market = SimMarket(5, ["BTCUSDT", "XRPUSDT"])
    market.subscribe(market.symbols)
    return [orjson.loads(frame) for frame in market.run(seconds * 1000)]


def _first(frames: list[dict[str, object]], topic: str, kind: str) -> dict[str, object]:
    return next(f for f in frames if str(f["topic"]).startswith(topic) and f["type"] == kind)


def _example(docs: Path, name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((docs / name).read_text())
    return loaded


def test_book_frames_have_the_docs_shape(docs_examples: Path) -> None:
    frames = _frames(2)
    for kind, name in (("snapshot", "ws_public_orderbook50_snapshot.json"),
                       ("delta", "ws_public_orderbook50_delta.json")):
        ours = _first(frames, "orderbook.50.", kind)
        theirs = _example(docs_examples, name)
        assert list(ours) == list(theirs)
        assert isinstance(ours["data"], dict) and isinstance(theirs["data"], dict)
        assert list(ours["data"]) == list(theirs["data"])
        level = ours["data"]["b"][0]
        assert isinstance(level[0], str) and isinstance(level[1], str)
        assert ours["cts"] < ours["ts"]


def test_trade_frames_have_the_docs_shape_plus_protocol_fields(docs_examples: Path) -> None:
    ours = _first(_frames(2), "publicTrade.", "snapshot")
    theirs = _example(docs_examples, "ws_public_trade.json")
    assert list(ours) == list(theirs)
    assert isinstance(ours["data"], list) and isinstance(theirs["data"], list)
    keys = set(ours["data"][0])
    assert set(theirs["data"][0]) <= keys
    assert keys - set(theirs["data"][0]) == {"RPI"}
    trade = ours["data"][0]
    assert trade["S"] in ("Buy", "Sell")
    assert trade["L"] in ("PlusTick", "ZeroPlusTick", "MinusTick", "ZeroMinusTick")
    assert len(str(trade["i"])) == 36


def test_ticker_snapshot_has_every_docs_field_and_deltas_a_subset(docs_examples: Path) -> None:
    frames = _frames(2)
    ours = _first(frames, "tickers.", "snapshot")
    theirs = _example(docs_examples, "ws_public_ticker_linear_perpetual_snapshot.json")
    assert list(ours) == list(theirs)
    assert isinstance(ours["data"], dict) and isinstance(theirs["data"], dict)
    assert list(ours["data"]) == list(theirs["data"])
    assert all(isinstance(value, str) for value in ours["data"].values())
    delta = _first(frames, "tickers.", "delta")
    assert isinstance(delta["data"], dict)
    assert "symbol" in delta["data"]
    assert set(delta["data"]) < set(ours["data"])
