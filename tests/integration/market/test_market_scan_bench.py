"""`densitytui scan` and `densitytui bench market` on the shared files, run as the CLI."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections import Counter
from pathlib import Path

import orjson
import pytest

from densitytui.cli import main
from densitytui.commands.bench import books_pass
from densitytui.commands.scan import _Progress
from densitytui.config import Config
from densitytui.market import core
from densitytui.venues.recording import Recording, read_frames

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ["--config", str(ROOT / "config.toml")]
EVENT_FIELDS = {"event", "symbol", "side", "price", "size", "notional", "peak", "erosion",
                "eaten", "pulled", "spoof", "ts"}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main([*args, *CONFIG])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def last_book(path: Path, depth: int) -> dict[str, dict[str, list[list[str]]]]:
    """The final book rebuilt from the raw messages with plain dicts of strings."""
    opener = gzip.open if path.suffix == ".gz" else open
    sides: dict[str, dict[str, str]] = {"b": {}, "a": {}}
    symbol = ""
    with opener(path, "rb") as lines:
        for line in lines:
            message = orjson.loads(line)
            if not message["topic"].startswith("orderbook"):
                continue
            symbol = message["data"]["s"]
            if message["type"] == "snapshot":
                sides = {"b": {}, "a": {}}
            for key in ("b", "a"):
                for price, size in message["data"][key]:
                    if float(size) == 0:
                        sides[key].pop(price, None)
                    else:
                        sides[key][price] = size
    bids = sorted(sides["b"].items(), key=lambda level: -float(level[0]))[:depth]
    asks = sorted(sides["a"].items(), key=lambda level: float(level[0]))[:depth]
    return {symbol: {"bids": [list(level) for level in bids],
                     "asks": [list(level) for level in asks]}}


def test_scan_btc_json_events_summary_and_final_book(
    capsys: pytest.CaptureFixture[str], btc_file: Path,
) -> None:
    status, lines, _ = run_cli(capsys, "scan", str(btc_file), "--json", "--final-book", "5")
    assert status == 0
    *event_lines, summary_line, book_line = lines
    events = [orjson.loads(line) for line in event_lines]
    assert all(set(event) >= EVENT_FIELDS for event in events)
    assert all("outcome" in event for event in events if event["event"] == "gone")
    assert not any("outcome" in event for event in events if event["event"] != "gone")
    summary = orjson.loads(summary_line)
    assert summary["summary"] is True
    assert summary["messages"] == 27_814
    assert (summary["malformed"], summary["gaps"]) == (0, 0)
    assert summary["densities"] == sum(e["event"] == "appeared" for e in events)
    assert sum(summary["outcomes"].values()) == summary["densities"]
    gone = Counter(e["outcome"] for e in events if e["event"] == "gone")
    outcomes = summary["outcomes"]
    for outcome in ("eaten", "pulled", "spoof", "out_of_range", "faded"):
        assert outcomes[outcome] == gone[outcome]
    still_there = outcomes["open"] + outcomes["held"] - gone["held"]
    assert summary["densities"] == sum(gone.values()) + still_there
    assert summary["confirmed"] == sum(e["event"] == "confirmed" for e in events)
    assert orjson.loads(book_line) == last_book(btc_file, 5)
    wall = [e for e in events if e["price"] == 61658.0 and e["side"] == "bid"]
    assert wall and wall[-1]["event"] != "gone"  # still there at the end


def test_scan_xrp_text_output(capsys: pytest.CaptureFixture[str], xrp_file: Path) -> None:
    status, lines, _ = run_cli(capsys, "scan", str(xrp_file), "--final-book", "3")
    assert status == 0
    summary = lines[-2]
    assert summary.startswith("summary: 50 messages (0 malformed), 0 gaps, 1 symbol(s); ")
    assert all(" XRPUSDT " in line for line in lines[:-2])
    assert orjson.loads(lines[-1]) == last_book(xrp_file, 3)


def test_scan_reads_gzip_and_bybit_zip_recordings_alike(
    capsys: pytest.CaptureFixture[str], xrp_file: Path, tmp_path: Path,
) -> None:
    gz = tmp_path / "xrp.jsonl.gz"
    gz.write_bytes(gzip.compress(xrp_file.read_bytes()))
    history = tmp_path / "2024-12-01_XRPUSDT_ob500.data.zip"
    with zipfile.ZipFile(history, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2024-12-01_XRPUSDT_ob500.data", xrp_file.read_bytes())
    outputs = []
    for path in (xrp_file, gz, history):
        status, lines, _ = run_cli(capsys, "scan", str(path), "--json", "--final-book", "5")
        assert status == 0
        outputs.append(lines)
    assert outputs[0] == outputs[1] == outputs[2]


def test_scan_counts_malformed_lines_and_carries_on(
    capsys: pytest.CaptureFixture[str], xrp_file: Path, tmp_path: Path,
) -> None:
    lines = xrp_file.read_bytes().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join([lines[0], b"{oops", b"", *lines[1:]]) + b"\n")
    status, out, _ = run_cli(capsys, "scan", str(broken), "--json")
    assert status == 0
    summary = orjson.loads(out[-1])
    assert (summary["messages"], summary["malformed"]) == (51, 1)
    assert summary["malformed_by_kind"] == {"invalid": 1}


def test_scan_unreadable_input_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], xrp_file: Path, tmp_path: Path,
) -> None:
    status, out, err = run_cli(capsys, "scan", str(tmp_path / "missing.jsonl"))
    assert status == 2
    assert out == []
    assert "missing.jsonl: No such file or directory" in err

    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(gzip.compress(xrp_file.read_bytes())[:2000])
    status, _, err = run_cli(capsys, "scan", str(truncated))
    assert status == 2
    assert "cut.jsonl.gz: the compressed stream ends early" in err

    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    status, _, err = run_cli(capsys, "scan", str(empty_zip))
    assert status == 2
    assert "holds no *_obNNN.data" in err


def test_progress_bar_only_on_a_terminal_for_large_inputs(xrp_file: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    recording = Recording(xrp_file)
    quiet = _Progress([recording], Terminal())
    assert not quiet.enabled  # a 100 kB file needs no bar
    terminal = Terminal()
    progress = _Progress([recording], terminal)
    progress.enabled = True
    frames = iter(recording)
    next(frames)
    progress.show(recording)
    progress.clear()
    assert terminal.getvalue().startswith("\rscan [")
    assert terminal.getvalue().endswith("\r")
    assert not _Progress([recording], io.StringIO()).enabled


def test_bench_market_reports_the_ratio_to_orjson_and_latency_per_kind(
    capsys: pytest.CaptureFixture[str], xrp_file: Path,
) -> None:
    status, lines, _ = run_cli(capsys, "bench", "market", "--data", str(xrp_file),
                               "--repeat", "1", "--json")
    assert status == 0
    (line,) = lines
    figures = orjson.loads(line)
    assert (figures["messages"], figures["book_messages"], figures["trade_messages"]) == (50, 50, 0)
    for key in ("orjson_msgs_per_s", "decode_msgs_per_s", "engine_msgs_per_s", "peak_rss_mb",
                "book_us_p50", "book_us_p99"):
        assert figures[key] > 0
    assert figures["book_us_p99"] >= figures["book_us_p50"]
    assert (figures["trade_us_p50"], figures["trade_us_p99"]) == (0, 0)  # no trades in this file
    assert figures["ratio_vs_orjson"] == pytest.approx(
        figures["engine_msgs_per_s"] / figures["orjson_msgs_per_s"]
    )
    assert figures["ratio_vs_decode"] == pytest.approx(
        figures["engine_msgs_per_s"] / figures["decode_msgs_per_s"]
    )
    # The three stages add up to the engine's pass; the yardstick's time is the same figure.
    engine_ms = 1000 * figures["messages"] / figures["engine_msgs_per_s"]
    stages = figures["decode_ms"] + figures["books_ms"] + figures["densities_tape_ms"]
    assert stages == pytest.approx(engine_ms)
    assert figures["orjson_ms"] == pytest.approx(
        1000 * figures["messages"] / figures["orjson_msgs_per_s"]
    )
    status, lines, _ = run_cli(capsys, "bench", "market", "--data", str(xrp_file), "--repeat", "1")
    assert status == 0
    assert lines[2].split()[:3] == ["engine", "/", "orjson"]  # the headline comes first
    assert lines[3].split() == ["market", "core", *core.running().split()]
    assert any(line.strip().startswith("book message") for line in lines)
    assert any(line.strip().startswith("densities, tape") for line in lines)


def test_the_books_pass_reports_the_changes_a_plain_replay_counts(btc_file: Path) -> None:
    """`books_pass` (decoding and books, no densities): its books report every level whose
    notional before or after reaches the tracker's wall size, counted here by replaying the
    levels into plain dicts."""
    config = Config()
    wall = config.density.keep_fraction * config.density.min_notional_usdt
    frames = list(read_frames(btc_file))
    expected = 0
    sides: dict[str, dict[float, float]] = {"b": {}, "a": {}}
    for frame in frames:
        message = orjson.loads(frame)
        if not message.get("topic", "").startswith("orderbook."):
            continue
        if message["type"] == "snapshot":
            sides = {"b": {}, "a": {}}
        for key, side in sides.items():
            for price_text, size_text in message["data"][key]:
                price, size = float(price_text), float(size_text)
                old = side.pop(price, 0.0)
                if size:
                    side[price] = size
                if max(old, size) * price >= wall:
                    expected += 1
    assert expected > 40_000
    assert books_pass(frames, config) == expected


def test_bench_market_without_data_records_a_simulated_session_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, lines, _ = run_cli(capsys, "bench", "market", "--simulated", "--repeat", "1",
                               "--json")
    assert status == 0
    figures = orjson.loads(lines[0])
    assert "simulated session recorded first" in figures["data"]
    assert figures["book_messages"] > 0 and figures["trade_messages"] > 0
    assert figures["malformed_messages"] == 0
    assert figures["trade_us_p99"] >= figures["trade_us_p50"] > 0


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("none.gz", None, "No such file"),
        ("empty.jsonl", b"", "holds no messages"),
        ("text.jsonl", b"hello\nworld\n", "is a Bybit message"),
        ("cut.gz", gzip.compress(b'{"topic":"x"}\n' * 100)[:40], "truncated"),
    ],
)
def test_bench_market_on_bad_data_prints_one_line_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, content: bytes | None,
    reason: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    status, lines, err = run_cli(capsys, "bench", "market", "--data", str(path))
    assert status == 2
    assert lines == []
    (line,) = err.splitlines()
    assert line.startswith("densitytui bench: ") and name in line and reason in line
