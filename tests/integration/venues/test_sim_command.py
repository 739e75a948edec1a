"""`densitytui sim --record`: a gzip NDJSON recording, the same bytes for the same seed."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import orjson
import pytest

from densitytui.cli import main


def _record(tmp_path: Path, name: str, *extra: str) -> Path:
    path = tmp_path / name
    status = main(["sim", "--duration", "3", "--speed", "0", "--record", str(path), *extra])
    assert status == 0
    return path


def test_recording_is_gzip_ndjson_of_every_symbol(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = _record(tmp_path, "s.jsonl.gz", "--seed", "3")
    summary = capsys.readouterr().out
    lines = gzip.decompress(path.read_bytes()).splitlines()
    assert f"sim: {len(lines)} messages, 3.0 s simulated in " in summary
    assert "msg/s" in summary and "seed 3" in summary and "12 symbols" in summary
    topics = {orjson.loads(line)["topic"] for line in lines}
    assert sum(topic.startswith("orderbook.50.") for topic in topics) == 12
    assert sum(topic.startswith("tickers.") for topic in topics) == 12
    assert sum(topic.startswith("publicTrade.") for topic in topics) == 12


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = _record(tmp_path, "a.jsonl.gz", "--seed", "5")
    second = _record(tmp_path, "b.jsonl.gz", "--seed", "5")
    other = _record(tmp_path, "c.jsonl.gz", "--seed", "6")
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert hashlib.sha256(second.read_bytes()).hexdigest() == digest
    assert hashlib.sha256(other.read_bytes()).hexdigest() != digest


def test_seed_comes_from_the_config_and_symbols_can_be_chosen(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[app]\nseed = 9\n")
    from_config = _record(tmp_path, "cfg.jsonl", "--config", str(config),
                          "--symbols", "btcusdt,XRPUSDT")
    explicit = _record(tmp_path, "cli.jsonl", "--seed", "9", "--symbols", "BTCUSDT,XRPUSDT")
    assert from_config.read_bytes() == explicit.read_bytes()
    symbols = {orjson.loads(line)["topic"].split(".")[-1]
               for line in explicit.read_bytes().splitlines()}
    assert symbols == {"BTCUSDT", "XRPUSDT"}


def test_real_time_speed_records_too(tmp_path: Path) -> None:
    path = tmp_path / "rt.jsonl"
    assert main(["sim", "--duration", "0.2", "--speed", "1", "--symbols", "LTCUSDT",
                 "--record", str(path)]) == 0
    assert len(path.read_bytes().splitlines()) >= 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "BTCUSDT,FOOUSDT"], "not simulated: FOOUSDT"),
        (["--speed", "-1"], "--speed must be 0 or more"),
        (["--duration", "0"], "--duration must be more than 0"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            args: list[str], message: str) -> None:
    status = main(["sim", "--record", str(tmp_path / "x.jsonl.gz"), *args])
    assert status == 2
    assert message in capsys.readouterr().err


def test_unwritable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["sim", "--record", str(tmp_path / "missing" / "x.jsonl.gz")])
    assert status == 2
    assert "cannot write" in capsys.readouterr().err
