"""`densitytui` / `densitytui run`: the Textual app on the configured venue."""

from __future__ import annotations

import argparse

from densitytui.commands.settings import config_or_exit


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", parents=parents, help="run the app (the default)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    from densitytui.logging import configure_logging
    from densitytui.ui.app import DensityApp

    configure_logging(config)
    DensityApp(config).run()
    return 0
