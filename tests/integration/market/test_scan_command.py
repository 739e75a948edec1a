"""`densitytui scan` as a trader reads it: legend, units, rounding, time order, bad input, trend."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import orjson
import pytest

from densitytui.cli import main
from densitytui.venues.sim.instruments import SPECS

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ["--config", str(ROOT / "config.toml")]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main([*args, *CONFIG])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def size_decimals(path: Path) -> int:
    """The most decimals any size string of the recording's book has, read from the raw file."""
    opener = gzip.open if path.suffix == ".gz" else open
    most = 0
    with opener(path, "rb") as lines:
        for line in lines:
            message = orjson.loads(line)
            if message["topic"].startswith("orderbook"):
                for key in ("b", "a"):
                    for _, size in message["data"][key]:
                        most = max(most, len(size.partition(".")[2].rstrip("0")))
    return most


def decimals(number: float) -> int:
    """Decimals in the shortest text of a JSON number (no float noise means few)."""
    text = repr(number)
    assert "e" not in text, text
    return len(text.partition(".")[2].rstrip("0"))


def test_help_explains_every_outcome_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("eaten", "held", "spoof", "pulled", "out_of_range", "faded", "open",
                 "confirmed", "tested"):
        assert re.search(rf"^\s+{word}\s+\S", text, re.MULTILINE), f"{word} is not explained"
    assert "USDT" in text and "base" in text


def test_btc_json_events_in_time_order_rounded_to_tick_and_step(
    capsys: pytest.CaptureFixture[str], btc_file: Path,
) -> None:
    status, lines, _ = run_cli(capsys, "scan", str(btc_file), "--json")
    assert status == 0
    events = [orjson.loads(line) for line in lines[:-1]]
    stamps = [event["ts"] for event in events]
    assert stamps == sorted(stamps)
    later = [event for event in events if "gone_at" in event]
    assert later, "some outcomes wait for late trades"
    assert all(event["event"] == "gone" and event["gone_at"] < event["ts"] for event in later)
    steps = size_decimals(btc_file)
    assert steps == 3
    for event in events:
        for key in ("price", "price_low", "price_high"):
            assert decimals(event[key]) <= 1, event  # tick 0.1
        for key in ("size", "peak", "eaten", "pulled"):
            assert decimals(event[key]) <= steps, event
        assert decimals(event["notional"]) <= 2 and decimals(event["erosion"]) <= 4, event
        assert event["price_low"] <= event["price"] <= event["price_high"]
    # No float noise anywhere in the text either.
    assert not any(re.search(r"\d\.\d{9,}", line) for line in lines)


def test_btc_text_says_when_an_outcome_was_decided_later(
    capsys: pytest.CaptureFixture[str], btc_file: Path,
) -> None:
    status, lines, _ = run_cli(capsys, "scan", str(btc_file))
    assert status == 0
    late = [line for line in lines if "decided later: walls went at" in line]
    assert late and all(" gone " in line for line in late)
    first = lines[0]
    assert " USDT" in first and " BTC " in first and "notional" in first


def test_xrp_text_in_units_rounded_to_the_tick(
    capsys: pytest.CaptureFixture[str], xrp_file: Path,
) -> None:
    status, lines, _ = run_cli(capsys, "scan", str(xrp_file))
    assert status == 0
    events = lines[:-1]
    assert events
    for line in events:
        match = re.search(r" (bid|ask) (\d+\.\d+) USDT", line)
        assert match and len(match.group(2).partition(".")[2]) == 4, line  # tick 0.0001
        assert re.search(r"size \d+ XRP ", line), line  # XRP sizes are whole coins


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b'{"hello": "world"}\n{"op": "pong", "success": true}\n', "no Bybit market messages"),
        (b"{oops\nnot json at all\n", "all 2 lines are malformed"),
    ],
    ids=["empty", "blank-lines", "not-bybit", "all-malformed"],
)
def test_a_file_with_nothing_to_scan_exits_1_naming_the_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, problem: str,
) -> None:
    path = tmp_path / "input.jsonl"
    path.write_bytes(content)
    status, _, err = run_cli(capsys, "scan", str(path))
    assert status == 1
    assert problem in err and str(path) in err


def test_change_24h_given_explicitly_is_used_and_said(
    capsys: pytest.CaptureFixture[str], xrp_file: Path,
) -> None:
    status, lines, _ = run_cli(capsys, "scan", str(xrp_file), "--json")
    assert status == 0
    trend = orjson.loads(lines[-1])["trend"]["XRPUSDT"]
    assert trend == {"trend": "FLAT", "change_24h_pct": None, "source": "none"}

    status, lines, _ = run_cli(capsys, "scan", str(xrp_file), "--json",
                               "--change-24h", "XRPUSDT=+8.1")
    assert status == 0
    trend = orjson.loads(lines[-1])["trend"]["XRPUSDT"]
    assert (trend["change_24h_pct"], trend["source"]) == (8.1, "explicit")
    assert trend["trend"] in ("UP", "FLAT")  # UP only if the book leans that way too

    status, lines, _ = run_cli(capsys, "scan", str(xrp_file), "--change-24h", "XRPUSDT=+8.1")
    assert status == 0
    assert lines[0].startswith("24 h change given explicitly")
    assert "XRPUSDT +8.10 %" in lines[0]
    assert "24 h change +8.10 % given explicitly" in lines[-1]


@pytest.mark.parametrize("option", ["--change-24h", "--tick"])
def test_a_bad_symbol_value_option_exits_2(
    capsys: pytest.CaptureFixture[str], xrp_file: Path, option: str,
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(xrp_file), option, "XRPUSDT=lots", *CONFIG])
    assert exit_info.value.code == 2
    assert "'lots' is not a number" in capsys.readouterr().err


def test_the_tick_option_is_the_grid_of_a_sim_recording(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    recording = tmp_path / "sim.jsonl.gz"
    assert main(["sim", "--seed", "3", "--duration", "30", "--speed", "0",
                 "--symbols", "LTCUSDT", "--record", str(recording)]) == 0
    capsys.readouterr()
    tick = SPECS["LTCUSDT"].tick
    status, lines, _ = run_cli(capsys, "scan", str(recording), "--json",
                               "--tick", f"LTCUSDT={tick}")
    assert status == 0
    events = [orjson.loads(line) for line in lines[:-1]]
    assert events
    for event in events:
        ticks = event["price"] / float(tick)
        assert abs(ticks - round(ticks)) < 1e-6, event
