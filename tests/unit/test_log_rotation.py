"""The log file rotates by size and count from the config, so a chatty session cannot fill the
disk, and at the default level the file holds what a trader reads, not the libraries' chatter."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import structlog

from densitytui.config import Config, parse_config
from densitytui.logging import close_logging, configure_logging


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    close_logging()


def _numbers(path: Path) -> list[int]:
    return [int(orjson.loads(line)["n"]) for line in path.read_bytes().splitlines()]


def test_the_file_rotates_at_its_size_and_keeps_its_count(tmp_path: Path) -> None:
    config = parse_config({"logging": {"max_file_mb": 0.002, "keep_files": 2}})
    path = configure_logging(config, tmp_path / "l.log")
    log = structlog.get_logger("densitytui.test")
    for n in range(400):
        log.info("signal", kind="signal", symbol="BTCUSDT", n=n)
    close_logging()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["l.log", "l.log.1", "l.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2_000
    # Oldest to newest without a gap: .2, .1, then the live file ending with the last record.
    kept = _numbers(tmp_path / "l.log.2") + _numbers(tmp_path / "l.log.1") + _numbers(path)
    assert kept == list(range(kept[0], 400))
    assert kept[0] > 0  # the oldest records went with the file beyond keep_files


def test_without_kept_files_the_log_starts_afresh(tmp_path: Path) -> None:
    config = parse_config({"logging": {"max_file_mb": 0.001, "keep_files": 0}})
    path = configure_logging(config, tmp_path / "l.log")
    for n in range(100):
        structlog.get_logger("t").info("x", n=n)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.log"]
    assert path.stat().st_size <= 1_000 and _numbers(path)[-1] == 99


def test_the_default_level_keeps_the_libraries_chatter_out(tmp_path: Path) -> None:
    path = configure_logging(Config(), tmp_path / "l.log")
    logging.getLogger("pybit._http_manager").info("Request -> GET /v5/market/tickers")
    logging.getLogger("websockets.client").warning("connection lost")
    structlog.get_logger("densitytui").info("position opened", kind="opened")
    events = [orjson.loads(line)["event"] for line in path.read_bytes().splitlines()]
    assert events == ["connection lost", "position opened"]

    debug = configure_logging(parse_config({"logging": {"level": "DEBUG"}}), tmp_path / "d.log")
    logging.getLogger("pybit._http_manager").debug("Request -> GET /v5/market/tickers")
    assert b"Request -> GET" in debug.read_bytes()


@pytest.mark.parametrize("bad", [{"max_file_mb": 0}, {"keep_files": -1}, {"max_file_mb": "big"}])
def test_rotation_settings_are_validated(bad: dict[str, object]) -> None:
    from densitytui.config import ConfigError

    with pytest.raises(ConfigError, match=r"logging\."):
        parse_config({"logging": bad})
