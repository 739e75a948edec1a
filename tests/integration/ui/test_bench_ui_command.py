"""`densitytui bench ui` runs the real app end to end, on a pseudo-terminal and headless, and
reports every figure it promises."""

from __future__ import annotations

import json
import os

import pytest

from densitytui.cli import main


@pytest.mark.parametrize("headless", [False, True], ids=["pty", "headless"])
def test_bench_ui_reports_every_figure(
    headless: bool, capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "ui", "--duration", "5", "--json"] + (["--headless"] if headless else [])
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bench"] == "ui"
    assert result["size"] == "160x48"
    assert result["duration_s"] >= 5
    # The simulated market's dozen symbols, said beside the 40.
    assert result["symbols"] == 12 and result["issue_symbols"] == 40
    assert result["sim_speed"] > 1
    assert result["book_msgs_per_s_at_real_time"] > 0
    assert 0 < result["book_msgs_per_s"] <= result["msgs_per_s"]
    assert 0 < result["cpu_pct"] <= 100 * (os.cpu_count() or 1)
    assert result["loop_lag_samples"] > 0
    assert 0 <= result["loop_lag_p50_ms"] <= result["loop_lag_p99_ms"] <= result["loop_lag_max_ms"]
    assert 0 <= result["order_p50_ms"] <= result["order_p99_ms"]
    assert result["order_with_journal_p99_ms"] >= result["order_p99_ms"]
    if result["orders"]:
        assert result["order_p50_ms"] > 0
    if headless:
        assert result["bytes_per_s"] is None
        assert result["bytes_per_s_note"] == "not measured (headless)"
    else:
        # A 160x48 screen that moves writes something every second.
        assert result["bytes_per_s"] > 0
    assert result["targets"] == {
        "cpu_pct": 35.0, "loop_lag_p99_ms": 10.0, "order_p99_ms": 20.0, "bytes_per_s": 100_000.0,
    }
