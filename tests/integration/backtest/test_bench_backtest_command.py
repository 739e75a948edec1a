"""`densitytui bench backtest` as the CLI runs it: one JSON object whose figures add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from densitytui.cli import main
from densitytui.market import core

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ["--config", str(ROOT / "config.toml")]


def test_bench_backtest_reports_both_sides_of_its_ratio(
    btc_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["bench", "backtest", "--data", str(btc_file), "--repeat", "1", "--json",
                   *CONFIG])
    figures = json.loads(capsys.readouterr().out)
    assert status == 0
    assert figures["bench"] == "backtest" and figures["repeat"] == 1
    # Every line of the shared file is a frame; its defaults make the BTC recording trade.
    assert figures["messages"] == 27_814
    assert figures["trades"] > 0 and figures["signals"] >= figures["trades"]
    assert figures["market_msgs_per_s"] == pytest.approx(27_814 / figures["market_cpu_s"])
    assert figures["backtest_msgs_per_s"] == pytest.approx(27_814 / figures["backtest_cpu_s"])
    assert figures["ratio"] == pytest.approx(
        figures["backtest_msgs_per_s"] / figures["market_msgs_per_s"]
    )
    assert 0 < figures["read_cpu_s"] < figures["backtest_cpu_s"]
    assert figures["core"] == core.running()


def test_bench_backtest_refuses_a_sweep_with_one_line(
    btc_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["bench", "backtest", "--data", str(btc_file), "--set",
                   "signals.breakout_min_erosion_pct=20,30", *CONFIG])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and "a bench is not a sweep" in err[0]
