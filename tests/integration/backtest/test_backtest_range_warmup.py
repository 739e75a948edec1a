"""The backtest says how long the range rules' warm-up is: a replay has no klines, so a range
is judged only once the recording covers it, from the minute of its first data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import tiny_recording as tiny

from densitytui.backtest.report import render_text, to_dict
from densitytui.backtest.run import run_backtest
from densitytui.config import Config


def _config(tmp_path: Path) -> Config:
    return Config.model_validate({**tiny.OVERRIDES, "logging": {"file": str(tmp_path / "l.jsonl")}})


def test_a_short_recording_never_judges_a_range(btc_file: Path, tmp_path: Path) -> None:
    result = asyncio.run(run_backtest(_config(tmp_path), [btc_file], {"BTCUSDT": -8.1}))
    warmup = to_dict(result)["range_warmup"]
    # 23:54:16.509 .. 00:00:01.105 is 5.7 minutes.
    assert warmup["recorded_min"] == 5.7
    assert warmup["judged_from"] == {"1": None, "4": None}
    assert "the 1 h range never (unknown throughout)" in render_text(result)


def test_a_recording_longer_than_an_hour_judges_it_from_then(tmp_path: Path) -> None:
    # The tiny recording, then a trade every ten minutes for 70 minutes.
    frames = tiny.frames()
    for n in range(1, 8):
        frames.append(tiny._trades(tiny.T_STOP + n * 600_000, ("Buy", "1", "100.0")))
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"\n".join(frames) + b"\n")
    result = asyncio.run(run_backtest(_config(tmp_path), [path], tiny.CHANGE))
    warmup = to_dict(result)["range_warmup"]
    # T0 is 2024-08-09 00:00:00.000, a whole minute: the 1 h range is known from 01:00.
    assert warmup["judged_from"] == {"1": "2024-08-09T01:00:00.000Z", "4": None}
    assert "the 1 h range from 2024-08-09T01:00:00.000Z" in warmup["note"]
