"""Logs: JSON lines in a file, secrets masked, nothing on the terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import structlog

from densitytui.config import Config, parse_config
from densitytui.logging import close_logging, configure_logging, log_path, register_secret


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    close_logging()


def _records(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_records_are_json_lines_with_level_and_time(tmp_path: Path) -> None:
    path = configure_logging(Config(), tmp_path / "nested" / "densitytui.log")
    structlog.get_logger("t").info("density confirmed", symbol="BTCUSDT", price=61658.0)
    (record,) = _records(path)
    assert record["event"] == "density confirmed"
    assert record["symbol"] == "BTCUSDT"
    assert record["price"] == 61658.0
    assert record["level"] == "info"
    assert str(record["timestamp"]).endswith("Z")


def test_level_from_config_filters(tmp_path: Path) -> None:
    path = configure_logging(parse_config({"logging": {"level": "WARNING"}}), tmp_path / "l.log")
    log = structlog.get_logger("t")
    log.info("quiet")
    log.warning("loud")
    assert [r["event"] for r in _records(path)] == ["loud"]


def test_secrets_are_masked_by_key_and_by_value(tmp_path: Path) -> None:
    path = configure_logging(Config(), tmp_path / "l.log")
    register_secret("K3yV4lu3-abcdef")
    structlog.get_logger("t").info(
        "request",
        api_key="K3yV4lu3-abcdef",
        headers={"X-BAPI-SIGN": "deadbeef", "X-BAPI-API-KEY": "K3yV4lu3-abcdef"},
        url="https://x/?api_key=K3yV4lu3-abcdef",
    )
    text = path.read_text()
    assert "K3yV4lu3-abcdef" not in text
    assert "deadbeef" not in text
    (record,) = _records(path)
    assert record["api_key"] == "***"
    assert record["url"] == "https://x/?api_key=***"


def test_stdlib_logging_goes_to_the_file_not_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = configure_logging(Config(), tmp_path / "l.log")
    register_secret("another-secret-1")
    logging.getLogger("websockets.client").warning("closed with %s", "another-secret-1")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    (record,) = _records(path)
    assert record["logger"] == "websockets.client"
    assert record["event"] == "closed with ***"


def test_a_stdlib_record_with_an_exception_keeps_its_traceback(tmp_path: Path) -> None:
    path = configure_logging(Config(), tmp_path / "l.log")
    try:
        raise ValueError("boom in a callback")
    except ValueError:
        logging.getLogger("asyncio").exception("Exception in callback")
    (record,) = _records(path)
    assert record["event"] == "Exception in callback"
    assert "ValueError: boom in a callback" in str(record["exception"])


def test_default_path_is_in_the_user_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert log_path(Config()) == tmp_path / "densitytui" / "densitytui.log"
    assert log_path(parse_config({"logging": {"file": "~/x.log"}})) == Path.home() / "x.log"
