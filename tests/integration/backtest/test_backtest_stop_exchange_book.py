"""Stops fill on the exchange's book rebuilt from the recording, whatever the engine's own book
is: after a gap in the recording the engine's book is invalid, the exchange's carries on with
the levels it knows; a side with nothing on it fills at the print, and the report says so."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import tiny_recording as tiny

from densitytui.backtest.report import render_text, to_dict
from densitytui.backtest.run import BacktestResult, run_backtest
from densitytui.config import Config

T_GAP = tiny.T_SIGNAL + 500
T_CROSS = T_GAP + 100


def _run(tmp_path: Path, gap_bids: list[list[str]], print_price: str) -> BacktestResult:
    """The tiny recording up to the wall going down after the long entry (stop 99.9), then a
    delta whose `u` skips ahead (a gap: the engine's book is invalid for good, the recording
    never sends a snapshot) changing `gap_bids`, then a sell at `print_price` through the stop."""
    frames = [f for f in tiny.frames() if json.loads(f)["ts"] <= tiny.T_WALL_DOWN]
    frames.append(tiny._book("delta", T_GAP, 200, gap_bids, []))
    frames.append(tiny._trades(T_CROSS, ("Sell", "20", print_price)))
    path = tmp_path / "gap.jsonl"
    path.write_bytes(b"\n".join(frames) + b"\n")
    config = Config.model_validate({
        **tiny.OVERRIDES, "backtest": {"feed_latency_ms": 0, "latency_ms": 0},
        "logging": {"file": str(tmp_path / "log.jsonl")},
    })
    return asyncio.run(run_backtest(config, [path], tiny.CHANGE))


def test_after_a_gap_the_stop_walks_the_recorded_bids(tmp_path: Path) -> None:
    # Bids before the gap: 99.9 60, 99.8 60, 99.7 60, 99.5 100, 99.4 100. The gap's delta
    # takes 99.9 and 99.8 away; the print at 99.75 triggers the stop, and the bids no better
    # than that print start at 99.7 (60 there, 7 needed).
    result = _run(tmp_path, [["99.9", "0"], ["99.8", "0"]], "99.75")
    [trade] = result.trades
    assert (trade.exit_reason, trade.exit_time) == ("stop_loss", T_CROSS)
    assert trade.exit_price == pytest.approx(99.7, abs=1e-9)
    assert result.stops_at_print == []
    assert result.open_positions == []
    assert "(no stops did)" in to_dict(result)["fill_model"]


def test_an_empty_side_fills_at_the_print_and_says_so(tmp_path: Path) -> None:
    gone = [[price, "0"] for price in ("99.9", "99.8", "99.7", "99.5", "99.4")]
    result = _run(tmp_path, gone, "99.75")
    [trade] = result.trades
    assert (trade.exit_reason, trade.exit_price) == ("stop_loss", 99.75)
    assert result.stops_at_print == [(T_CROSS, tiny.SYMBOL, 99.75)]
    data = to_dict(result)
    assert data["stops_at_print"] == [
        {"time": "2024-08-09T00:00:13.625Z", "symbol": tiny.SYMBOL, "price": 99.75},
    ]
    assert "(1 stop did)" in data["fill_model"]
    assert "filled at the print 99.75" in render_text(result)
