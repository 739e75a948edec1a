"""config.toml: the shipped file, where it is found, round-trips, overrides and bad values."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from pydantic import BaseModel

from densitytui.cli import main
from densitytui.config import (
    STRATEGY_SECTIONS,
    Config,
    ConfigError,
    find_config,
    load_config,
    parse_config,
)
from densitytui.paths import packaged_file

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config.toml"


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_leaf_keys(annotation, f"{prefix}{name}."))
        elif name != "symbols":
            keys.append(f"{prefix}{name}")
    return keys


def _changed(value: Any) -> Any:
    """A valid value different from the default, by type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.5
    if isinstance(value, tuple):
        return ("BTCUSDT", "ETHUSDT") if not value or isinstance(value[0], str) else (2.0, 8.0)
    raise AssertionError(f"no changed value for {value!r}")


CHOICES = {
    "alerts.telegram_api": "http://127.0.0.1:8081",
    "alerts.telegram_chat_id": "42",
    "app.venue": "paper",
    "app.mode": "auto",
    "app.theme": "light",
    "logging.file": "/tmp/densitytui-test.log",
    "logging.level": "DEBUG",
    "storage.url": "postgresql://densitytui@127.0.0.1:5432/db",
    "bybit.orderbook_depth": 200,
    "signals.breakout_through": "remaining",
    # the default is the top of its range
    "ui.ladder_interval_ms": 66,
}


def test_shipped_file_holds_exactly_the_defaults() -> None:
    config, source = load_config(SHIPPED)
    assert source == SHIPPED
    assert config == Config()


def test_every_key_is_in_the_shipped_file_under_a_comment() -> None:
    """Walking up from a key over sibling keys must reach a comment before a blank or a header."""
    lines = SHIPPED.read_text().splitlines()
    section = ""
    documented: set[str] = set()
    for index, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
            continue
        match = re.match(r"(\w+)\s*=", line)
        if not match:
            continue
        above = index - 1
        while re.match(r"\w+\s*=", lines[above]):
            above -= 1
        if lines[above].startswith("#"):
            documented.add(f"{section}.{match.group(1)}")
    missing = set(_leaf_keys(Config)) - documented
    assert not missing, f"keys without a comment in config.toml: {sorted(missing)}"


@pytest.mark.parametrize("key", _leaf_keys(Config))
def test_every_key_round_trips(key: str, tmp_path: Path) -> None:
    section, name = key.split(".")
    default = getattr(getattr(Config(), section), name)
    value = CHOICES.get(key, _changed(default) if not isinstance(default, str) else "x")
    if key == "tape.velocity_short_s":
        value = 5.0
    raw = {section: {name: value}}
    if key == "alerts.telegram":
        raw["alerts"]["telegram_chat_id"] = "42"
    config = parse_config(raw)
    dumped = config.model_dump(mode="json")
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(dumped))
    again, _ = load_config(path)
    assert again == config
    assert getattr(getattr(again, section), name) != default


def test_symbol_override_replaces_one_number_for_one_symbol() -> None:
    config = parse_config(
        {"symbols": {"BTCUSDT": {"enabled": False, "density": {"min_notional_usdt": 2e6}}}}
    )
    btc = config.strategy("BTCUSDT")
    assert btc.density.min_notional_usdt == 2e6
    assert btc.density.relative_factor == 3.0
    assert btc.enabled is False
    assert config.strategy("ETHUSDT").density.min_notional_usdt == 50_000
    assert config.strategy("ETHUSDT").enabled is True


@pytest.mark.parametrize("section", STRATEGY_SECTIONS)
def test_every_strategy_section_can_be_overridden(section: str) -> None:
    default = getattr(Config(), section)
    name, value = next(iter(default.model_dump().items()))
    new = _changed(tuple(value) if isinstance(value, list) else value)
    if section == "tape":
        new = 2.0
    config = parse_config({"symbols": {"SOLUSDT": {section: {name: new}}}})
    assert getattr(getattr(config.strategy("SOLUSDT"), section), name) == new


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"app": {"mode": "fast"}}, "app.mode = 'fast': allowed values: 'manual', 'semi' or 'auto'"),
        ({"app": {"venue": "binance"}}, "app.venue = 'binance': allowed values:"),
        ({"app": {"theme": "neon"}}, "app.theme = 'neon': allowed values: contrast, dark, light"),
        ({"density": {"min_notional_usdt": -5}}, "density.min_notional_usdt = -5: Input should be greater than 0"),
        ({"density": {"side_share_pct": 150}}, "density.side_share_pct = 150: Input should be less than or equal to 100"),
        ({"risk": {"max_positions": "ten"}}, "risk.max_positions = 'ten': Input should be a valid integer"),
        ({"density": {"min_notional": 1}}, "density.min_notional: unknown key; allowed here: auto_turnover_fraction,"),
        ({"densty": {}}, "densty: unknown key; allowed here: alerts, app, backtest, bybit, density,"),
        ({"storage": {"url": "mysql://x"}}, "storage.url = 'mysql://x': allowed: empty"),
        ({"tape": {"velocity_short_s": 20}}, "tape: velocity_short_s (20.0) must be shorter than velocity_long_s (15.0)"),
        ({"symbols": {"BTCUSDT": {"density": {"min_notional_usdt": 0}}}}, "symbols.BTCUSDT.density.min_notional_usdt = 0: Input should be greater than 0"),
        ({"symbols": {"BTCUSDT": {"denisty": {}}}}, "symbols.BTCUSDT.denisty: unknown key; allowed here: density, enabled,"),
        ({"bybit": {"api_secret": "s3cr3t"}}, "bybit.api_secret: secrets are never read from config.toml"),
    ],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(
    raw: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert any(problem.startswith(expected) for problem in caught.value.problems), (
        caught.value.problems
    )


def test_every_problem_is_reported_not_just_the_first() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"app": {"mode": "x", "venue": "y"}, "risk": {"leverage": 500}})
    assert len(caught.value.problems) == 3


def test_a_secret_value_never_appears_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"bybit": {"api_secret": "s3cr3t-value"}})
    assert "s3cr3t-value" not in str(caught.value)


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "explicit.toml"
    from_env = tmp_path / "env.toml"
    cwd = tmp_path / "cwd"
    user = tmp_path / "user"
    cwd.mkdir()
    (user / "densitytui").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user))
    monkeypatch.delenv("DENSITYTUI_CONFIG", raising=False)

    assert find_config() == packaged_file("config.toml")
    (user / "densitytui" / "config.toml").write_text("")
    assert find_config() == user / "densitytui" / "config.toml"
    (cwd / "config.toml").write_text("")
    assert find_config() == cwd / "config.toml"
    monkeypatch.setenv("DENSITYTUI_CONFIG", str(from_env))
    assert find_config() == from_env
    assert find_config(explicit) == explicit


def test_packaged_default_is_the_shipped_file() -> None:
    assert tomllib.loads(packaged_file("config.toml").read_text()) == tomllib.loads(
        SHIPPED.read_text()
    )


def test_check_config_ok_for_the_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(SHIPPED)]) == 0
    assert capsys.readouterr().out.startswith("OK ")


def test_check_config_names_the_broken_key_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[risk]\nleverage = 500\n[app]\nmode = "yolo"\n')
    with pytest.raises(SystemExit) as caught:
        main(["check-config", "--config", str(bad)])
    assert caught.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"densitytui: bad config {bad}:"
    assert "  risk.leverage = 500: Input should be less than or equal to 100" in err
    assert "  app.mode = 'yolo': allowed values: 'manual', 'semi' or 'auto'" in err


def test_check_config_reports_broken_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk\n")
    with pytest.raises(SystemExit) as caught:
        main(["check-config", "--config", str(bad)])
    assert caught.value.code == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_missing_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["check-config", "--config", str(tmp_path / "nope.toml")])
    assert caught.value.code == 2
    assert "file not found" in capsys.readouterr().err
