"""`densitytui check-config`: validate a config file and say which keys are wrong."""

from __future__ import annotations

import argparse

from densitytui.commands.settings import config_or_exit
from densitytui.config import find_config


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser(
        "check-config", parents=parents, help="validate the config file (exit status 2 if bad)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    overrides = f", {len(config.symbols)} symbol override(s)" if config.symbols else ""
    print(f"OK {find_config(getattr(args, 'config', None))}{overrides}")
    return 0
