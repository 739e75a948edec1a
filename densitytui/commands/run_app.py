"""`densitytui` / `densitytui run`: the Textual app on the configured venue."""

from __future__ import annotations

import argparse

from densitytui.commands.settings import config_or_exit


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser("run", parents=parents, help="run the app (the default)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    import structlog

    from densitytui.logging import close_logging, configure_logging
    from densitytui.ui.app import DensityApp

    path = configure_logging(config)
    structlog.get_logger("densitytui").info(
        "app started", venue=config.app.venue, mode=config.app.mode.value, log_file=str(path)
    )
    try:
        DensityApp(config).run()
    finally:
        close_logging()
    return 0
