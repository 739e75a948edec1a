"""`densitytui record` against the fake: hourly gzip NDJSON that `scan` and replays read."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
import pytest
from fake_bybit import FakeBybit

from densitytui.cli import main
from densitytui.commands.record import HourlyWriter, record, stamped
from densitytui.config import Config
from densitytui.market.engine import MarketEngine
from densitytui.venues.bybit import BybitMarketData
from densitytui.venues.recording import Recording


def _config_file(tmp_path: Path, fake: FakeBybit) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[bybit]\n"
        f'mainnet_rest = "{fake.rest_url}"\n'
        f'mainnet_public_ws = "{fake.public_ws_url}"\n'
        "reconnect_min_s = 0.05\n"
    )
    return path


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "densitytui.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_stamp_adds_the_receive_time_beside_an_unchanged_message() -> None:
    raw = b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}'
    line = stamped(raw, 1733097600123)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line.startswith(raw[:-1])
    message = orjson.loads(line)
    assert message.pop("local_recv_ms") == 1733097600123
    assert orjson.dumps(message) == raw


async def test_record_paper_writes_what_scan_reads(fake: FakeBybit, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    status, stdout, stderr = await _cli(
        "record", "--config", str(_config_file(tmp_path, fake)), "--venue", "paper",
        "--symbols", "BTCUSDT,ETHUSDT", "--depth", "50", "--out", str(out), "--duration", "2",
    )
    assert status == 0, stderr
    files = sorted(out.glob("bybit-public-*.jsonl.gz"))
    assert files and len(files) <= 2  # one per UTC hour; two if the hour turned
    assert "recorded" in stdout
    engine = MarketEngine(Config())
    topics: set[str] = set()
    times: list[int] = []
    count = 0
    for path in files:
        for line in Recording(path):
            message = orjson.loads(line)
            times.append(message["local_recv_ms"])
            topics.add(message["topic"].split(".")[0])
            engine.on_frame(line)
            count += 1
    assert f"recorded {count} messages" in stdout
    assert topics == {"orderbook", "publicTrade", "tickers"}
    assert times == sorted(times)
    assert engine.stats.total_malformed == 0 and engine.stats.gaps == 0
    for symbol in ("BTCUSDT", "ETHUSDT"):
        book = engine.book(symbol)
        assert book is not None and book.valid
    status, scanned, stderr = await _cli("scan", *map(str, files))
    assert status == 0, stderr
    assert f"summary: {count} messages (0 malformed), 0 gaps, 2 symbol(s)" in scanned


async def test_record_refuses_bad_options(tmp_path: Path) -> None:
    status, _, stderr = await _cli("record", "--venue", "replay", "--symbols", "BTCUSDT",
                                   "--out", str(tmp_path))
    assert status == 2 and "cannot record venue replay" in stderr
    status, _, stderr = await _cli("record", "--symbols", "BTCUSDT", "--movers",
                                   "--out", str(tmp_path))
    assert status == 2 and "not allowed with" in stderr


def test_files_turn_with_the_utc_hour(tmp_path: Path) -> None:
    writer = HourlyWriter(tmp_path)
    hour = 1_733_097_600_000  # 2024-12-02 00:00 UTC
    frame = b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT"},"ts":1}'
    for recv_ms in (hour - 1, hour, hour + 3_599_999):
        writer.write(frame, recv_ms)
    writer.close()
    names = [path.name for path in writer.files]
    assert names == ["bybit-public-20241201-23.jsonl.gz", "bybit-public-20241202-00.jsonl.gz"]
    stamps = [[orjson.loads(line)["local_recv_ms"] for line in Recording(path)]
              for path in writer.files]
    assert stamps == [[hour - 1], [hour, hour + 3_599_999]]


def test_record_the_simulated_market(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["record", "--venue", "sim", "--symbols", "BTCUSDT", "--out", str(tmp_path),
                   "--duration", "1"])
    assert status == 0
    [path] = tmp_path.glob("*.jsonl.gz")
    lines = list(Recording(path))
    assert f"recorded {len(lines)} messages" in capsys.readouterr().out
    assert {orjson.loads(line)["topic"] for line in lines} >= {"orderbook.50.BTCUSDT"}


async def test_recording_follows_the_movers(fake: FakeBybit, market: BybitMarketData,
                                            tmp_path: Path) -> None:
    async def movers() -> list[str]:
        return ["ETHUSDT"]

    summary = await record(market, ["BTCUSDT"], tmp_path, 1.5, movers=movers, refresh_s=0.3)
    assert summary.symbols == ["BTCUSDT", "ETHUSDT"]
    symbols = [orjson.loads(line)["topic"].rsplit(".", 1)[1]
               for path in summary.files for line in Recording(path)]
    assert symbols[0] == "BTCUSDT" and "ETHUSDT" in symbols
    switched = symbols.index("ETHUSDT")
    # Once the unsubscription is through, only the new mover is recorded.
    assert symbols[-20:] == ["ETHUSDT"] * 20 and len(symbols) - switched > 20
