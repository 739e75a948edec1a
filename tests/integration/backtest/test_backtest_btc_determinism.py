"""The backtest on the shared BTC recording: byte-identical across runs, trades that add up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from densitytui.backtest.report import render_html, render_text, to_json, trades_csv
from densitytui.backtest.run import BacktestResult, run_backtest
from densitytui.config import Config

# The recording has no tickers: the change is given, as a trader would with --change-24h.
CHANGE = {"BTCUSDT": -8.1}


def _run(btc_file: Path, tmp_path: Path, **signals: object) -> BacktestResult:
    # Every signal of this file has an opposing wall within 2 x its stop distance: the
    # reward/risk check off, so there are trades to add up.
    config = Config.model_validate({
        "risk": {"max_position_exposure_pct": 10.0},
        "signals": {"min_reward_risk": 0.0, **signals},
        "logging": {"file": str(tmp_path / "log.jsonl")},
    })
    return asyncio.run(run_backtest(config, [btc_file], CHANGE))


def test_two_runs_give_byte_identical_results(btc_file: Path, tmp_path: Path) -> None:
    first = _run(btc_file, tmp_path)
    second = _run(btc_file, tmp_path)
    assert first.trades, "the BTC recording with a -8.1 % change should trade"
    assert to_json(first) == to_json(second)
    assert render_text(first) == render_text(second)
    assert render_html(first) == render_html(second)
    assert trades_csv(first) == trades_csv(second)


def test_each_trade_adds_up(btc_file: Path, tmp_path: Path) -> None:
    result = _run(btc_file, tmp_path)
    rate = result.taker_fee_pct / 100
    for trade in result.trades:
        sign = 1 if trade.side == "Buy" else -1
        fees = rate * trade.qty * (trade.entry_price + trade.exit_price)
        assert trade.fees == pytest.approx(fees, rel=1e-9)
        gross = sign * (trade.exit_price - trade.entry_price) * trade.qty
        assert trade.pnl == pytest.approx(gross - fees, abs=1e-9)
        assert trade.exit_time >= trade.entry_time
        assert result.start_ms <= trade.entry_time <= result.end_ms


ENGINE_EXITS = {"stop_loss", "liquidation", "close_all"}


@pytest.mark.parametrize("through", ["far_edge", "remaining"])
def test_no_exit_is_decided_before_the_fill_could_be_known(
    btc_file: Path, tmp_path: Path, through: str,
) -> None:
    # The engine learns its fill latency_ms + answer_latency_ms after sending the order: an exit
    # it decides itself (all but the exchange's stop and the end-of-data close) comes later.
    # "remaining" at 100 % is the near-edge touch, which enters where exits come fast.
    result = _run(btc_file, tmp_path, breakout_through=through, breakout_max_remaining_pct=100)
    backtest = Config().backtest
    known_after = backtest.latency_ms + backtest.answer_latency_ms
    decided = [t for t in result.trades if t.exit_reason not in ENGINE_EXITS]
    assert decided, "the run should have exits the engine decided"
    for trade in decided:
        assert trade.exit_time - trade.entry_time >= known_after, trade


MIDNIGHT = 1_723_161_600_000  # 2024-08-09 00:00 UTC, a funding time inside the recording


def test_positions_open_at_the_funding_time_pay_or_earn_funding(
    btc_file: Path, tmp_path: Path,
) -> None:
    result = _run(btc_file, tmp_path)
    rate = Config().paper.funding_rate_pct / 100
    across = [t for t in result.trades if t.entry_time < MIDNIGHT <= t.exit_time]
    assert across, "a trade of this run is open at 00:00 UTC"
    assert [(p.at, p.symbol) for p in result.funding] == [(MIDNIGHT, t.symbol) for t in across]
    # The recording has no tickers: the configured rate.
    assert {(p.rate_pct, p.source) for p in result.funding} == {(rate * 100, "configured")}
    for paid, trade in zip((p.amount for p in result.funding), across, strict=True):
        # A long pays a positive rate, a short earns it: qty x mark x rate, the mark within a
        # percent of the entry over these minutes.
        sign = 1 if trade.side == "Buy" else -1
        assert paid * sign > 0
        assert abs(paid) == pytest.approx(trade.qty * trade.entry_price * rate, rel=0.01)
