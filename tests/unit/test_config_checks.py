"""check-config catches what would silently never work: key clashes and keys no keyboard has,
symbol tables that never match, every bad number of a symbol table; and --change-24h values."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from densitytui.cli import main
from densitytui.commands.scan import change_24h_arg
from densitytui.config import ConfigError, KeysSection, parse_config

XRP = Path(__file__).resolve().parents[2] / "../shared/data/xrpusdt-ob500-2024-12-01.bybit.jsonl"


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"quit": "y"}, "'y' is both quit and confirm_signal on the main screen"),
        ({"pause_entries": "?"}, "is both help and pause_entries on the main screen"),
        ({"open_symbol": "tab"}, "'tab' is both next_pane and open_symbol on the movers pane"),
        ({"answer_yes": "f9"}, "'f9' is both close_all and answer_yes on a yes/no question"),
    ],
)
def test_keys_live_at_the_same_time_may_not_collide(keys: dict, expected: str) -> None:
    found = problems({"keys": keys})
    assert len(found) == 1 and expected in found[0], found


def test_keys_in_different_places_may_share_a_key() -> None:
    """Enter opens a symbol in Movers and confirms in Signals; y is also yes in a question."""
    keys = KeysSection()
    assert "enter" in keys.open_symbol.split(",") and "enter" in keys.confirm_signal.split(",")
    assert parse_config({"keys": {"answer_yes": "y", "confirm_signal": "y"}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("f20", "f20: no such key on a keyboard (function keys are f1 to f12)"),
        ("f9,banana", "banana: unknown key name"),
        ("hyper+x", "unknown modifier 'hyper'"),
    ],
)
def test_keys_no_keyboard_sends_are_refused(value: str, expected: str) -> None:
    found = problems({"keys": {"close_all": value}})
    assert len(found) == 1 and found[0].startswith("keys.close_all") and expected in found[0]


@pytest.mark.parametrize("value", ["f12", "ctrl+x", "exclamation_mark", "!", "shift+f5", "alt+z"])
def test_real_keys_are_accepted(value: str) -> None:
    assert parse_config({"keys": {"close_all": value}}).keys.close_all == value


def test_a_lowercase_symbol_table_is_refused_with_the_spelling_that_matches() -> None:
    found = problems({"symbols": {"btcusdt": {"enabled": False}, "BTC-PERP": {}}})
    assert len(found) == 1
    assert "[symbols.btcusdt] (write [symbols.BTCUSDT])" in found[0]
    assert "[symbols.BTC-PERP]" in found[0]


def test_every_error_of_a_symbol_table_is_reported() -> None:
    found = problems({"symbols": {"ETHUSDT": {
        "density": {"min_notional_usdt": -1, "relative_factor": 0},
        "signals": {"ttl_s": 0},
        "exits": {"no_such_key": 1},
    }}})
    keys = [line.split(" ")[0].rstrip(":") for line in found]
    assert keys == [
        "symbols.ETHUSDT.density.min_notional_usdt",
        "symbols.ETHUSDT.density.relative_factor",
        "symbols.ETHUSDT.signals.ttl_s",
        "symbols.ETHUSDT.exits.no_such_key",
    ]


def test_check_config_names_a_key_collision(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "keys.toml"
    bad.write_text('[keys]\nquit = "y"\nclose_all = "f20"\n[symbols.btcusdt]\nenabled = false\n')
    with pytest.raises(SystemExit) as caught:
        main(["check-config", "--config", str(bad)])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "keys.close_all = 'f20'" in err and "[symbols.btcusdt]" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ETHUSDT=-5%", ("ETHUSDT", -5.0)), ("ethusdt=+8.1 %", ("ETHUSDT", 8.1)),
     ("XRPUSDT=1000", ("XRPUSDT", 1000.0))],
)
def test_change_24h_takes_a_percent_sign(text: str, expected: tuple[str, float]) -> None:
    assert change_24h_arg(text) == expected


@pytest.mark.parametrize("text", ["ETHUSDT=-500", "ETHUSDT=-100", "ETHUSDT=1000.5"])
def test_change_24h_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="a 24 h change is in % above -100"):
        change_24h_arg(text)


@pytest.mark.parametrize("command", ["scan", "backtest"])
def test_change_24h_of_a_symbol_not_in_the_file_exits_2(command: str, capsys) -> None:
    if not XRP.is_file():
        pytest.fail(f"shared data missing: {XRP}")
    status = main([command, str(XRP), "--change-24h", "ETHUSDT=-5%"])
    err = capsys.readouterr().err
    assert status == 2
    assert "--change-24h names ETHUSDT, not in" in err and "XRPUSDT" in err
