"""`densitytui scan` on a recording of the simulated market tells its three kinds of wall apart."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from densitytui.cli import main
from densitytui.venues.sim.instruments import SPECS

SYMBOLS = ["BTCUSDT", "XRPUSDT", "SUIUSDT", "LTCUSDT"]


def test_scan_finds_eaten_held_and_pulled_densities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "sim.jsonl.gz"
    assert main(["sim", "--seed", "7", "--duration", "240", "--speed", "0",
                 "--symbols", ",".join(SYMBOLS), "--record", str(recording)]) == 0
    capsys.readouterr()
    # The sim's books are sparse (levels a few ticks apart): give scan the instruments' ticks.
    ticks = [arg for symbol in SYMBOLS for arg in ("--tick", f"{symbol}={SPECS[symbol].tick}")]
    assert main(["scan", "--json", str(recording), *ticks]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    summary = lines[-1]
    assert summary["summary"] is True
    assert summary["gaps"] == 0 and summary["malformed"] == 0
    outcomes = Counter(
        (event["symbol"], event["outcome"])
        for event in lines[:-1]
        if event["event"] == "gone" and event["confirmed"]
    )
    for symbol in SYMBOLS:
        assert outcomes[(symbol, "eaten")] >= 1, outcomes
        assert outcomes[(symbol, "held")] >= 1, outcomes
        assert outcomes[(symbol, "spoof")] + outcomes[(symbol, "pulled")] >= 1, outcomes
    confirmed = summary["confirmed_outcomes"]
    assert confirmed["out_of_range"] == 0
