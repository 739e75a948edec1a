"""Funding at the rate the recording's tickers carry: the BTC recording (no tickers of its own)
merged with a file of Bybit ticker deltas whose fundingRate changes before and after 00:00 UTC.
The position open across midnight pays at the last rate recorded before it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_backtest_btc_determinism import CHANGE, MIDNIGHT

from densitytui.backtest.report import render_text, to_dict
from densitytui.backtest.run import BacktestResult, run_backtest
from densitytui.config import Config

# fundingRate as Bybit prints it (a fraction): 0.025 % from 23:58, 0.09 % after midnight
# (the next period's rate, which midnight's payment must not use).
RATES = [(MIDNIGHT - 120_000, "0.00025"), (MIDNIGHT + 500, "0.0009")]


def _tickers(path: Path) -> Path:
    lines = [
        json.dumps({
            "topic": "tickers.BTCUSDT", "type": "delta", "ts": ts, "cs": n + 1,
            "data": {"symbol": "BTCUSDT", "fundingRate": rate},
        })
        for n, (ts, rate) in enumerate(RATES)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(files: list[Path], tmp_path: Path) -> BacktestResult:
    config = Config.model_validate({
        "risk": {"max_position_exposure_pct": 10.0},
        "signals": {"min_reward_risk": 0.0},
        "logging": {"file": str(tmp_path / "log.jsonl")},
    })
    return asyncio.run(run_backtest(config, files, CHANGE))


def test_the_recorded_rate_before_midnight_is_charged(btc_file: Path, tmp_path: Path) -> None:
    plain = _run([btc_file], tmp_path)
    result = _run([btc_file, _tickers(tmp_path / "tickers.jsonl")], tmp_path)
    # The tickers change nothing but the rate.
    assert [(t.entry_time, t.exit_time, t.pnl) for t in result.trades] == [
        (t.entry_time, t.exit_time, t.pnl) for t in plain.trades
    ]
    across = [t for t in result.trades if t.entry_time < MIDNIGHT <= t.exit_time]
    assert across, "a trade of this run is open at 00:00 UTC"
    assert [(p.at, p.rate_pct, p.source) for p in result.funding] == [
        (MIDNIGHT, pytest.approx(0.025), "ticker") for _ in across
    ]
    for payment, before, trade in zip(result.funding, plain.funding, across, strict=True):
        # Same position, same mark: the amount scales with the rate (0.025 % against 0.01 %).
        assert payment.amount == pytest.approx(before.amount * 0.025 / 0.01, rel=1e-9)
        sign = 1 if trade.side == "Buy" else -1
        assert payment.amount * sign > 0
    data = to_dict(result)
    assert data["funding"][0]["rate_from"] == "ticker"
    assert "0.025 % (from the tickers)" in render_text(result)
