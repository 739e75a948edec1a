"""A position the backtest cannot close is not dropped: listed marked to market, NOT FLAT as an
error (text, JSON, exit status), and the drawdown counts its open loss."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import tiny_recording as tiny
from test_backtest_tiny_recording import CLI_SETS

from densitytui.backtest.report import render_text, to_dict
from densitytui.backtest.run import run_backtest
from densitytui.cli import main
from densitytui.config import Config

T_GAP = tiny.T_SIGNAL + 500


def _write(path: Path) -> Path:
    """The tiny recording up to the wall going down after the entry, then a book delta whose
    `u` skips ahead (a gap: the book is invalid and the recording never sends a snapshot), and
    trades at 99.95, above the stop (99.9): the long cannot be closed by the end."""
    frames = [f for f in tiny.frames() if json.loads(f)["ts"] <= tiny.T_WALL_DOWN]
    frames.append(tiny._book("delta", T_GAP, 200, [["99.9", "50"]], []))
    for n in range(1, 4):
        frames.append(tiny._trades(T_GAP + n * 100, ("Sell", "1", "99.95")))
    path.write_bytes(b"\n".join(frames) + b"\n")
    return path


def test_an_unclosable_position_is_listed_marked_and_an_error(tmp_path: Path) -> None:
    recording = _write(tmp_path / "gap.jsonl")
    config = Config.model_validate({
        **tiny.OVERRIDES, "backtest": {"feed_latency_ms": 0, "latency_ms": 0},
        "engine": {"close_all_attempts": 1, "order_lookup_interval_s": 0.01},
        "logging": {"file": str(tmp_path / "log.jsonl")},
    })
    result = asyncio.run(run_backtest(config, [recording], tiny.CHANGE))
    assert result.trades == []
    [left] = result.open_positions
    assert (left.symbol, left.side, left.qty, left.entry_price) == (tiny.SYMBOL, "Buy", 7, 100.1)
    # Marked at the last trade (the book is invalid): (99.95 - 100.1) x 7.
    assert left.mark_price == 99.95
    assert left.unrealized_pnl == pytest.approx(-1.05, abs=1e-9)
    data = to_dict(result)
    assert data["not_flat"] is True and data["error"].startswith("NOT FLAT: 1 position(s)")
    assert data["open_positions"][0]["unrealized_pnl"] == pytest.approx(-1.05)
    assert any(a.startswith("close_all_alert") for a in data["alerts"])
    # No closed trade, yet the marked equity fell by the open loss and the entry fee.
    entry_fee = 7 * 100.1 * tiny.FEE
    assert data["summary"]["max_drawdown"] == pytest.approx(1.05 + entry_fee, abs=1e-6)
    text = render_text(result)
    assert "ERROR NOT FLAT" in text and "open at the end" in text


def test_the_cli_exits_1_when_not_flat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = _write(tmp_path / "gap.jsonl")
    status = main([
        "backtest", str(recording), "--change-24h", "TESTUSDT=+5", *CLI_SETS,
        "--set", "engine.close_all_attempts=1", "--set", "engine.order_lookup_interval_s=0.01",
        "--json",
    ])
    captured = capsys.readouterr()
    assert status == 1
    assert json.loads(captured.out)["not_flat"] is True
    assert "densitytui backtest: NOT FLAT" in captured.err
