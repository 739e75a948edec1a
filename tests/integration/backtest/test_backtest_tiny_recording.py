"""The backtest on a hand-built recording whose one trade is known exactly (tiny_recording)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import tiny_recording as tiny

from densitytui.backtest.report import to_dict
from densitytui.backtest.run import BacktestResult, run_backtest
from densitytui.backtest.sweep import run_sweep
from densitytui.cli import main
from densitytui.config import Config


def _config(tmp_path: Path, **backtest: Any) -> Config:
    # No feed latency: `latency_ms` alone is the time from the signal's data to the fill.
    return Config.model_validate({
        **tiny.OVERRIDES, "backtest": {"feed_latency_ms": 0, **backtest}, "logging": {"file": str(tmp_path / "log.jsonl")},
    })


def _run(tmp_path: Path, latency_ms: int) -> BacktestResult:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    config = _config(tmp_path, latency_ms=latency_ms)
    return asyncio.run(run_backtest(config, [recording], tiny.CHANGE))


# Entry fills by hand: at once the wall shows 60 at 100.1; 50 ms later only 3 are left there,
# so 3 fill at 100.1 and 4 at 100.2 (the next ask level, 5 shown).
ENTRY_VALUE = {0: 7 * 100.1, 50: 3 * 100.1 + 4 * 100.2}


@pytest.mark.parametrize("latency_ms", [0, 50])
def test_the_one_trade_is_known_exactly(tmp_path: Path, latency_ms: int) -> None:
    result = _run(tmp_path, latency_ms)
    assert len(result.trades) == 1
    trade = result.trades[0]
    entry_value = ENTRY_VALUE[latency_ms]
    exit_value = tiny.QTY * tiny.EXIT_PRICE
    fees = (entry_value + exit_value) * tiny.FEE
    assert (trade.symbol, trade.kind, trade.side, trade.qty) == (tiny.SYMBOL, "breakout", "Buy", 7)
    assert trade.entry_time == tiny.T_SIGNAL
    assert trade.entry_price == pytest.approx(entry_value / tiny.QTY, abs=1e-9)
    assert trade.exit_time == tiny.T_STOP
    assert trade.exit_price == pytest.approx(tiny.EXIT_PRICE, abs=1e-9)
    assert trade.exit_reason == "stop_loss"
    assert trade.fees == pytest.approx(fees, abs=1e-9)
    assert trade.pnl == pytest.approx(exit_value - entry_value - fees, abs=1e-9)
    assert result.signals == {"breakout": 1}
    assert result.decisions == {"accepted": 1}
    summary = to_dict(result)["summary"]
    assert summary["trades"] == 1 and summary["wins"] == 0
    assert summary["max_drawdown"] == pytest.approx(-trade.pnl, abs=1e-6)


def test_latency_moves_the_entry_to_the_later_book(tmp_path: Path) -> None:
    at_once = _run(tmp_path, 0).trades[0]
    later = _run(tmp_path, 50).trades[0]
    assert at_once.entry_price == 100.1
    assert later.entry_price > at_once.entry_price
    assert later.entry_price == pytest.approx(ENTRY_VALUE[50] / 7, abs=1e-9)
    # The stop's fill is at 99.5 both ways: the bids above it were gone before the stop.
    assert later.exit_price == at_once.exit_price == tiny.EXIT_PRICE


def test_sweep_rows_equal_the_single_runs(tmp_path: Path) -> None:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    config = _config(tmp_path)
    grid = [[("backtest.latency_ms", 0)], [("backtest.latency_ms", 50)]]
    rows = run_sweep(config, grid, [recording], tiny.CHANGE, workers=2)
    singles = {
        latency: to_dict(_run(tmp_path, latency)) for latency in (0, 50)
    }
    by_latency = {row.overrides[0][1]: row.result for row in rows}
    assert by_latency == singles
    # Ranked by net PnL: the run that filled better comes first.
    assert [row.overrides[0][1] for row in rows] == [0, 50]


CLI_SETS = [
    "--set", "density.min_notional_usdt=1000", "--set", "density.cluster_range_pct=0",
    "--set", "signals.bounce_max_distance_pct=0.001",
    "--set", "signals.breakout_through=remaining", "--set", "signals.breakout_max_remaining_pct=60",
    "--set", "risk.position_notional_usdt=800", "--set", "risk.max_position_exposure_pct=100",
    "--set", "risk.max_total_exposure_pct=100",
]


def test_cli_json_report_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    report = tmp_path / "report"
    status = main([
        "backtest", str(recording), "--change-24h", "TESTUSDT=+5", *CLI_SETS, "--json",
        "--report", str(report),
    ])
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["exit_reason"] for t in data["trades"]] == ["stop_loss"]
    assert data["latency_ms"] == 50
    assert "70 ms of recorded time after the data" in data["fill_model"]
    page = (report / "report.html").read_text()
    assert "<svg" in page and "src=" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "",
    )
    assert "min_notional_usdt" in page
    rows = (report / "trades.csv").read_text().splitlines()
    assert rows[0].startswith("entry_time,exit_time,symbol,kind,side")
    assert len(rows) == 2 and ",stop_loss," in rows[1]


def test_cli_says_the_trend_stays_flat_without_a_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    assert main(["backtest", str(recording), *CLI_SETS]) == 0
    out = capsys.readouterr().out
    assert "no 24 h change given for TESTUSDT" in out and "FLAT" in out
    assert "trades:\n  none" in out
    # Counts as a table, one row per name, not a raw dict.
    assert "signals and decisions:\n  signals     none       0\n" in out
    assert "{" not in out.split("signals and decisions:")[1].split("trades:")[0]


def test_cli_refuses_an_unknown_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    assert main(["backtest", str(recording), "--set", "signals.no_such_key=1"]) == 2
    assert "signals.no_such_key" in capsys.readouterr().err


def test_cli_instrument_rules_given_or_said_to_be_inferred(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    base = ["backtest", str(recording), "--change-24h", "TESTUSDT=+5", *CLI_SETS, "--json"]
    assert main(base) == 0
    inferred = json.loads(capsys.readouterr().out)
    assert inferred["inferred_instruments"] == ["TESTUSDT"]
    # Given: a minimum of 8, so the 7 the notional makes is raised to it; nothing inferred.
    assert main([*base, "--instrument", "TESTUSDT=0.1,1,8"]) == 0
    given = json.loads(capsys.readouterr().out)
    assert given["inferred_instruments"] == []
    assert given["instruments"] == [{
        "symbol": "TESTUSDT", "tick_size": 0.1, "qty_step": 1.0, "min_qty": 8.0,
        "min_notional": 5.0,
    }]
    assert [t["qty"] for t in given["trades"]] == [8.0]
    with pytest.raises(SystemExit):
        main([*base, "--instrument", "TESTUSDT=0.1,-1,1"])
    assert "all positive numbers" in capsys.readouterr().err
