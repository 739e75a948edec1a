"""Garbage in: `backtest` and `replay` of files that hold no market data fail with one line, and
a sweep with `--report` writes a report for every point."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
import tiny_recording as tiny
from test_backtest_tiny_recording import CLI_SETS

from densitytui.cli import main


def _garbage(kind: str, folder: Path) -> Path:
    if kind == "empty":
        path = folder / "empty.jsonl"
        path.write_bytes(b"")
    elif kind == "random":
        path = folder / "random.jsonl"
        path.write_bytes(random.Random(19).randbytes(5_000))
    else:
        whole = gzip.compress(b"\n".join(tiny.frames()) * 50, mtime=0)
        path = folder / "truncated.jsonl.gz"
        path.write_bytes(whole[: len(whole) // 2])
    return path


@pytest.mark.parametrize("command", ["backtest", "replay"])
@pytest.mark.parametrize(("kind", "why"), [
    ("empty", "no Bybit market data"),
    ("random", "no Bybit market data"),
    ("truncated", "truncated file"),
])
def test_a_file_without_market_data_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str, why: str,
) -> None:
    path = _garbage(kind, tmp_path)
    assert main([command, str(path), "--change-24h", "TESTUSDT=+5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"densitytui {command}: cannot read {path}") and why in err[0]


def test_a_sweep_of_garbage_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = _garbage("random", tmp_path)
    assert main(["backtest", str(path), "--set", "signals.ttl_s=30,60"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Bybit market data" in err[0]


def test_a_sweep_with_report_writes_one_per_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    recording = tiny.write(tmp_path / "tiny.jsonl")
    report = tmp_path / "report"
    assert main([
        "backtest", str(recording), "--change-24h", "TESTUSDT=+5", *CLI_SETS,
        "--set", "signals.ttl_s=30,60", "--report", str(report),
    ]) == 0
    assert "one folder per point" in capsys.readouterr().out
    folders = sorted(p.name for p in report.iterdir())
    assert folders == ["01-signals.ttl_s=30", "02-signals.ttl_s=60"]
    for name in folders:
        rows = (report / name / "trades.csv").read_text().splitlines()
        assert len(rows) == 2 and ",stop_loss," in rows[1]
        assert "<svg" in (report / name / "report.html").read_text()
