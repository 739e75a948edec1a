"""`densitytui bench soak` runs end to end and reports every figure it promises (the figures
themselves are measured by running it, never asserted here)."""

from __future__ import annotations

import json

import pytest

from densitytui.cli import main
from densitytui.commands.bench_soak import SAMPLES, SOAK_SYMBOLS, soak_catalogue
from densitytui.venues.sim import CATALOGUE


def test_bench_soak_reports_rss_and_cpu_over_forty_symbols(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "soak", "--duration", "2", "--warmup", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bench"] == "soak" and result["symbols"] == SOAK_SYMBOLS
    assert result["book_messages"] > 0 and result["messages"] >= result["book_messages"]
    assert result["rss_start_mb"] > 0 and result["rss_end_mb"] > 0
    assert len(result["cpu_share"]) == len(result["rss_mb"]) == SAMPLES
    assert all(share >= 0 for share in result["cpu_share"])


def test_the_soak_market_clones_the_dozen_under_new_names() -> None:
    specs = soak_catalogue()
    assert len({spec.symbol for spec in specs}) == SOAK_SYMBOLS
    assert not {spec.symbol for spec in specs} & {spec.symbol for spec in CATALOGUE}
    gainers = sum(1 for spec in specs if spec.change_24h_pct > 0)
    assert gainers >= 20 and SOAK_SYMBOLS - gainers >= 10
