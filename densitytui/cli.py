"""The `densitytui` command: runs the app by default; sub-commands live in `densitytui.commands`.

Each sub-command module exposes `register(subparsers)`, which adds its parser and sets
`func` to a callable taking the parsed arguments and returning the exit status.
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
from densitytui.model import TradingMode

COMMANDS = (check_config, db, scan, sim, bench, record, backtest, replay)
VENUES = get_args(Venue)


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options that apply to every command; on sub-commands they do not reset what came before."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", metavar="PATH", default=default, help="config file to use")
    parser.add_argument("--venue", choices=VENUES, default=default, help="where data and orders go")
    parser.add_argument(
        "--mode", choices=[m.value for m in TradingMode], default=default,
        help="manual, semi (one key per signal, the default) or auto",
    )
    parser.add_argument("--seed", type=int, default=default, help="seed of the simulated market")
    parser.add_argument("--db", metavar="PATH", default=default, help="SQLite database file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densitytui",
        description="Trade Bybit USDT perpetuals on order-book densities, from the terminal. "
        "Without a command, runs the app (default venue: the built-in simulated market).",
    )
    parser.add_argument("--version", action="version", version=f"densitytui {__version__}")
    _add_common(parser, suppress=False)
    run_app.add_live_flag(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_app.register(subparsers, [common])
    for command in COMMANDS:
        command.register(subparsers, [common])
    parser.set_defaults(func=run_app.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
