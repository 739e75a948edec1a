"""Safety state: equity peak and drawdown, the UTC day's loss, the stop-loss streak, storage."""

from __future__ import annotations

import json

from densitytui.engine.safety import Safety, utc_day
from densitytui.strategy.checks import RiskRules

DAY = 86_400_000
T0 = 1_723_161_240_000  # 2024-08-08 23:54 UTC


def test_drawdown_beyond_the_limit_from_the_peak_fires() -> None:
    safety = Safety(RiskRules(max_drawdown_pct=10.0))
    assert safety.on_equity(1000.0, T0) is False
    assert safety.on_equity(1200.0, T0 + 1) is False
    assert safety.on_equity(1080.0, T0 + 2) is False  # exactly 10 %: not beyond
    assert safety.drawdown_pct(1080.0) == 10.0
    assert safety.on_equity(1079.0, T0 + 3) is True
    assert safety.equity_peak == 1200.0


def test_the_day_starts_at_utc_midnight_with_that_equity() -> None:
    safety = Safety(RiskRules())
    safety.on_equity(1000.0, T0)
    assert (safety.day, safety.day_start_equity) == ("2024-08-08", 1000.0)
    safety.on_closed("XRPUSDT", -12.5, "stop_loss", T0 + 1)
    safety.on_closed("XRPUSDT", 2.5, "take_profit", T0 + 2)
    assert safety.day_realized_pnl == -10.0
    midnight = T0 + 6 * 60_000  # 2024-08-09 00:00
    assert utc_day(midnight) == "2024-08-09" and utc_day(midnight - 1) == "2024-08-08"
    safety.on_equity(990.0, midnight)
    assert (safety.day, safety.day_start_equity, safety.day_realized_pnl) == (
        "2024-08-09", 990.0, 0.0,
    )


def test_only_stop_losses_within_window_and_pause_are_remembered() -> None:
    rules = RiskRules(stop_streak_window_min=30.0, stop_streak_pause_min=30.0)
    safety = Safety(rules)
    safety.on_closed("XRPUSDT", -1.0, "stop_loss", T0)
    safety.on_closed("XRPUSDT", -1.0, "velocity_fade", T0 + 1)
    safety.on_closed("XRPUSDT", -1.0, "stop_loss", T0 + 10 * 60_000)
    assert safety.recent_stops(T0 + 10 * 60_000) == [T0, T0 + 10 * 60_000]
    assert safety.recent_stops(T0 + 60 * 60_000) == [T0 + 10 * 60_000]
    assert safety.recent_stops(T0 + 70 * 60_000) == []


def test_state_round_trips_through_json_and_a_bad_one_is_ignored() -> None:
    safety = Safety(RiskRules())
    safety.on_equity(1000.0, T0)
    safety.on_equity(950.0, T0 + 1)
    safety.on_closed("XRPUSDT", -50.0, "stop_loss", T0 + 2)
    safety.killed_at = T0 + 3
    restored = Safety(RiskRules())
    restored.restore(json.loads(json.dumps(safety.to_state())))
    assert restored.to_state() == safety.to_state()
    untouched = Safety(RiskRules())
    untouched.restore({"version": 99, "equity_peak": 5.0})
    untouched.restore("garbage")
    assert untouched.equity_peak == 0.0 and untouched.killed_at is None
