"""Backtest statistics on hand-made trades, each expected value worked out by hand."""

from __future__ import annotations

import math

import pytest

from densitytui.backtest.overrides import apply_overrides, parse_grid, parse_value
from densitytui.backtest.report import summarize, text_chart
from densitytui.backtest.run import TradeRow
from densitytui.config import Config, ConfigError


def _trade(entry: int, exit_: int, pnl: float, kind: str = "breakout") -> TradeRow:
    return TradeRow("BTCUSDT", kind, "Buy", 1.0, entry, 100.0, exit_, 100.0, "stop_loss", pnl,
                    0.1, f"s{entry}")


TRADES = [_trade(0, 100, 3.0), _trade(50, 150, -1.0), _trade(300, 400, -2.0),
          _trade(500, 600, 4.0)]


def test_summary_by_hand() -> None:
    summary = summarize(TRADES, 100.0, 1000)
    assert summary["trades"] == 4 and summary["wins"] == 2
    assert summary["win_rate_pct"] == 50.0
    assert summary["net_pnl"] == 4.0
    assert summary["fees"] == pytest.approx(0.4)
    assert summary["profit_factor"] == pytest.approx(7.0 / 3.0, abs=1e-4)
    assert summary["avg_win"] == 3.5 and summary["avg_loss"] == -1.5
    # Equity by exit: 103, 102, 100, 104: the peak 103 falls to 100.
    assert summary["max_drawdown"] == 3.0
    assert summary["max_drawdown_pct"] == pytest.approx(3.0 / 103.0 * 100, abs=1e-4)
    # Mean 1, sample sd sqrt((4 + 4 + 9 + 9) / 3).
    assert summary["sharpe_per_trade"] == pytest.approx(1 / math.sqrt(26 / 3), abs=1e-4)
    # Open during [0, 150], [300, 400], [500, 600]: 350 of 1000 ms.
    assert summary["exposure_pct"] == 35.0


def test_no_losing_trade_has_no_profit_factor() -> None:
    summary = summarize([_trade(0, 10, 1.0)], 100.0, 100)
    assert summary["profit_factor"] is None and summary["sharpe_per_trade"] is None
    assert summarize([], 100.0, 100)["win_rate_pct"] is None


def test_text_chart_rows() -> None:
    rows = text_chart([(0, 100.0), (10, 103.0), (20, 100.0), (30, 104.0)], width=20, height=4)
    assert len(rows) == 5
    assert rows[0].strip().startswith("104.00") and rows[3].strip().startswith("100.00")
    assert all(len(row) == len(rows[0]) for row in rows[:4])


def test_grid_and_overrides() -> None:
    grid = parse_grid(["signals.breakout_min_erosion_pct=20,30", "risk.leverage=5"])
    assert grid == [
        [("signals.breakout_min_erosion_pct", 20), ("risk.leverage", 5)],
        [("signals.breakout_min_erosion_pct", 30), ("risk.leverage", 5)],
    ]
    config = apply_overrides(Config(), grid[1])
    assert config.signals.breakout_min_erosion_pct == 30.0 and config.risk.leverage == 5.0
    assert parse_value("[1.0, 4.0]") == [1.0, 4.0] and parse_value("abc") == "abc"
    with pytest.raises(ConfigError, match=r"signals\.breakout_min_erosion_pct"):
        apply_overrides(Config(), [("signals.breakout_min_erosion_pct", 200)])
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["risk.leverage=1", "risk.leverage=2"])
