"""The `densitytui` command: runs the app by default; sub-commands live in `densitytui.commands`.

Each sub-command module exposes `register(subparsers, parents)`, which adds its parser and sets
`func` to a callable taking the parsed arguments and returning the exit status. `parents` carry
the shared options that command uses, and no others (`OPTIONS`), so `--help` shows what works.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import get_args

from densitytui import __version__
from densitytui.commands import (
    backtest,
    bench,
    check_config,
    db,
    record,
    replay,
    run_app,
    scan,
    sim,
)
from densitytui.config import Venue
from densitytui.market import core as market_core
from densitytui.model import TradingMode

VENUES = get_args(Venue)
SHARED = ("config", "venue", "mode", "seed", "db")
# The shared options each sub-command reads (the bare command and `run` take them all).
OPTIONS = {
    check_config: ("config",),
    db: ("config", "db"),
    scan: ("config",),
    sim: ("config", "seed"),
    bench: ("config", "seed"),
    record: ("config", "venue"),
    backtest: ("config",),
    replay: ("config", "mode", "db"),
}


def _add_shared(parser: argparse.ArgumentParser, names: Sequence[str], *, suppress: bool) -> None:
    """Shared options; on sub-commands they do not reset what was given before the command."""
    default = argparse.SUPPRESS if suppress else None
    if "config" in names:
        parser.add_argument("--config", metavar="PATH", default=default, help="config file to use")
    if "venue" in names:
        parser.add_argument(
            "--venue", choices=VENUES, default=default, help="where data and orders go",
        )
    if "mode" in names:
        parser.add_argument(
            "--mode", choices=[m.value for m in TradingMode], default=default,
            help="manual, semi (one key per signal, the default) or auto",
        )
    if "seed" in names:
        parser.add_argument(
            "--seed", type=int, default=default, help="seed of the simulated market",
        )
    if "db" in names:
        parser.add_argument("--db", metavar="PATH", default=default, help="SQLite database file")


def _parent(names: Sequence[str]) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    _add_shared(parent, names, suppress=True)
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densitytui",
        description="Trade Bybit USDT perpetuals on order-book densities, from the terminal. "
        "Without a command, runs the app (default venue: the built-in simulated market).",
    )
    parser.add_argument(
        "--version", action="version",
        version=f"densitytui {__version__} (market core: {market_core.running()})",
    )
    _add_shared(parser, SHARED, suppress=False)
    run_app.add_live_flag(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_app.register(subparsers, [_parent(SHARED)])
    for command, names in OPTIONS.items():
        command.register(subparsers, [_parent(names)])
    parser.set_defaults(func=run_app.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
