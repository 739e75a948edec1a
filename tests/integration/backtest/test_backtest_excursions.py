"""MAE and MFE of every trade of a backtest on the real BTC recording, checked against the
recorded prints read here from the JSON: the prices from the fill's arrival at the exchange
(feed + order latency after the entry was sent) to the close, with the entry and exit fills."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from densitytui.backtest.overrides import apply_overrides, parse_grid
from densitytui.backtest.report import to_dict
from densitytui.backtest.run import run_backtest
from densitytui.config import Config

# Loose signals, no reward/risk check and no re-entry cooldown: trades of both kinds and most
# exit reasons.
LOOSE = [
    "risk.max_position_exposure_pct=10", "risk.reentry_cooldown_s=0",
    "signals.bounce_max_distance_pct=0.5",
    "signals.bounce_max_erosion_pct=40", "signals.bounce_max_eaten_pct=40",
    "signals.breakout_min_erosion_pct=10", "signals.min_reward_risk=0",
]


def _prints(path: Path) -> list[tuple[int, float]]:
    """(the replay's clock: the largest time so far, price) of every recorded print."""
    out = []
    clock = 0
    with gzip.open(path, "rt") as lines:
        for line in lines:
            frame = json.loads(line)
            clock = max(clock, frame["ts"])
            if frame["topic"].startswith("publicTrade."):
                out.extend((clock, float(item["p"])) for item in frame["data"])
    return out


def _excursions(prices: list[float], trade: dict[str, Any]) -> tuple[float, float]:
    entry = trade["entry_price"]
    seen = [*prices, entry, trade["exit_price"]]
    down = (entry - min(seen)) / entry * 100
    up = (max(seen) - entry) / entry * 100
    return (down, up) if trade["side"] == "Buy" else (up, down)


def test_mae_and_mfe_are_the_recorded_prices_the_trade_saw(
    btc_file: Path, tmp_path: Path,
) -> None:
    config = apply_overrides(
        Config.model_validate({"logging": {"file": str(tmp_path / "log.jsonl")}}),
        parse_grid(LOOSE)[0],
    )
    result = asyncio.run(run_backtest(config, [btc_file], {"BTCUSDT": -8.1}))
    data = to_dict(result)
    assert len(data["trades"]) >= 5
    delay = config.backtest.feed_latency_ms + config.backtest.latency_ms
    prints = _prints(btc_file)
    for row, trade in zip(data["trades"], result.trades, strict=True):
        arrived = trade.entry_time + delay
        # Prints stamped at the close's own millisecond may come before or after it.
        before = [p for t, p in prints if arrived <= t < trade.exit_time]
        through = [p for t, p in prints if arrived <= t <= trade.exit_time]
        low_mae, low_mfe = _excursions(before, row)
        high_mae, high_mfe = _excursions(through, row)
        assert low_mae - 1e-4 <= row["mae_pct"] <= high_mae + 1e-4, row
        assert low_mfe - 1e-4 <= row["mfe_pct"] <= high_mfe + 1e-4, row
    maes = [row["mae_pct"] for row in data["trades"]]
    summary = data["summary"]
    assert summary["avg_mae_pct"] == pytest.approx(sum(maes) / len(maes), abs=1e-4)
    assert summary["max_mae_pct"] == max(maes)
    assert summary["max_mfe_pct"] == max(row["mfe_pct"] for row in data["trades"])
    # The run has trades that went both ways before their close.
    assert any(m > 0.05 for m in maes)
    assert any(row["mfe_pct"] > 0.05 for row in data["trades"])
