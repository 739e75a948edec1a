"""The command line: help, version, and options that override the config file."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from densitytui import __version__
from densitytui.cli import build_parser, main
from densitytui.commands.settings import config_from_args
from densitytui.market import core


def test_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "densitytui.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("run", "check-config", "db", "scan", "sim", "bench"):
        assert f"\n    {command} " in result.stdout
    for option in ("--venue", "--mode", "--seed", "--config", "--db", "--version"):
        assert option in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"densitytui {__version__} (market core: {core.running()})"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--venue", "paper", "--mode", "auto", "--seed", "7", "--db", "x.db", "check-config"],
        ["run", "--venue", "paper", "--mode", "auto", "--seed", "7", "--db", "x.db"],
    ],
)
def test_common_options_override_the_file_before_or_after_the_command(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_from_args(build_parser().parse_args(argv))
    assert config.app.venue == "paper"
    assert config.app.mode.value == "auto"
    assert config.app.seed == 7
    assert config.storage.url == f"sqlite:///{tmp_path / 'x.db'}"


@pytest.mark.parametrize(
    ("command", "meaningless"),
    [
        ("check-config", "--seed"), ("check-config", "--db"), ("scan", "--mode"),
        ("scan", "--venue"), ("backtest", "--venue"), ("backtest", "--seed"),
    ],
)
def test_a_command_refuses_shared_options_it_does_not_use(
    command: str, meaningless: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args([command, meaningless, "1"])
    assert caught.value.code == 2
    assert f"unrecognized arguments: {meaningless}" in capsys.readouterr().err


def test_every_command_has_a_one_line_description_and_only_its_options() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in choices._choices_actions:
        assert action.help and "\n" not in action.help, action.dest
    help_of = {name: sub.format_help() for name, sub in choices.choices.items()}
    assert "--seed" in help_of["sim"] and "--mode" not in help_of["sim"]
    assert "--db" in help_of["db"] and "--venue" not in help_of["db"]
    for option in ("--venue", "--mode", "--seed", "--db"):
        assert option in help_of["run"]
        assert option not in help_of["check-config"]


def test_without_options_the_file_decides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[app]\nvenue = "testnet"\nseed = 3\n')
    config = config_from_args(build_parser().parse_args(["--config", str(path)]))
    assert (config.app.venue, config.app.seed, config.app.mode.value) == ("testnet", 3, "semi")


def test_unknown_venue_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--venue", "binance"])
    assert caught.value.code == 2
    assert "invalid choice: 'binance'" in capsys.readouterr().err
