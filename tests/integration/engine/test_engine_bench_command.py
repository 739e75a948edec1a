"""`densitytui bench engine` runs end to end and reports every figure it promises."""

from __future__ import annotations

import json

import pytest

from densitytui.cli import main


def test_bench_engine_reports_latency_and_close_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "engine", "--duration", "60", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for mode in ("auto", "semi"):
        run = result[mode]
        assert run["orders"] >= 1
        assert 0 < run["p50_us"] <= run["p99_us"] <= run["max_us"]
        assert run["with_journal_p50_us"] >= run["p50_us"]
        assert run["simulated_s"] == 60
    close_all = result["close_all"]
    assert close_all["positions"] == 10 and close_all["flat"] is True
    # At least three round trips of 50 ms: look, cancel and close, verify flat.
    assert close_all["request_delay_ms"] == 50
    assert close_all["flat_ms"] >= 150
    assert result["targets"] == {"p99_us": 5000.0, "close_all_ms": 300.0}
