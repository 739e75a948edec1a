"""`densitytui` / `densitytui run`: the Textual app trading on the configured venue.

A venue that cannot run (no keys, `live` without its flag or its typed word, `replay`, which has
its own command) or an account another engine trades (its lock, `engine/lock.py`) is refused
here with one line and exit status 2, before anything is drawn. The engine is built once the
app has opened the database and taken the account's lock, and runs in the app's worker.
With `--headless` the engine runs alone, printing one line per event (`commands/headless.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from densitytui.commands.settings import config_or_exit

if TYPE_CHECKING:
    from densitytui.config import Config
    from densitytui.engine.engine import TradingEngine
    from densitytui.engine.runner import EngineOptions
    from densitytui.storage import Store

LIVE_WORD = "LIVE"


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser(
        "run", parents=parents, help="run the app (the default)",
        description="Run the trading app on the configured venue.",
    )
    add_live_flag(parser, suppress=True)
    parser.add_argument(
        "--headless", action="store_true",
        help="run the engine without the screen, one line per event on stdout",
    )
    parser.add_argument(
        "--duration", type=float, metavar="S",
        help="with --headless: stop after S seconds of market time (default: until ctrl+c)",
    )
    parser.add_argument(
        "--speed", type=float, metavar="X",
        help="pace of the simulated market: 1 real time, 20 twenty times faster, 0 flat out",
    )
    parser.set_defaults(func=run)


def add_live_flag(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """`--i-understand-live`, on `run` and on the bare command (which runs the app too)."""
    from densitytui.venues.factory import LIVE_FLAG

    parser.add_argument(
        LIVE_FLAG, dest="i_understand_live", action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="allow --venue live: trading real money on Bybit mainnet",
    )


def start_problem(config: Config, *, live_flag: bool) -> str | None:
    """Why the app cannot start on the configured venue, in one line; None when it can."""
    from densitytui.venues.factory import venue_problem

    if config.app.venue == "replay":
        return "venue replay plays recordings: use `densitytui replay FILE...`"
    return venue_problem(config, live_flag=live_flag)


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    problem = start_problem(config, live_flag=getattr(args, "i_understand_live", False))
    if problem:
        print(f"densitytui: {problem}", file=sys.stderr)
        return 2
    if config.app.venue == "live":
        try:
            typed = input(f"Real money on Bybit mainnet. Type {LIVE_WORD} to start: ").strip()
        except EOFError:
            # No terminal to type on (stdin closed, a script): not confirmed.
            typed = ""
        if typed != LIVE_WORD:
            print("densitytui: not confirmed; nothing started", file=sys.stderr)
            return 2
    from densitytui.engine.runner import EngineOptions

    options = EngineOptions(speed=getattr(args, "speed", None))
    if getattr(args, "headless", False):
        return _run_headless(config, getattr(args, "duration", None), options)
    taken = asyncio.run(account_taken(config))
    if taken:
        print(f"densitytui: {taken}", file=sys.stderr)
        return 2
    import structlog

    from densitytui.logging import close_logging, configure_logging
    from densitytui.ui.app import DensityApp

    path = configure_logging(config)
    structlog.get_logger("densitytui").info(
        "app started", venue=config.app.venue, mode=config.app.mode.value, log_file=str(path)
    )
    try:
        DensityApp(config, engine_factory=locked_engine_factory(config, options)).run()
    finally:
        close_logging()
    return 0


async def account_taken(config: Config) -> str | None:
    """Why the account cannot be traded from here (another engine holds its lock), so the app
    refuses in one line before drawing; None when it is free. The app's engine takes the lock
    for itself when it is built (`locked_engine_factory`), which closes the gap after this."""
    from densitytui.engine.lock import AccountLocked
    from densitytui.storage import StoreError, create_store

    try:
        store = create_store(config.storage)
        try:
            await store.lock_account(config.app.venue)
        finally:
            await store.close()
    except (AccountLocked, StoreError) as exc:
        return str(exc)
    return None


def locked_engine_factory(
    config: Config, options: EngineOptions,
) -> Callable[[Store], Awaitable[TradingEngine]]:
    """The app's engine factory: the store takes the account's lock, held until the app closes
    the store, then the engine is built on it (a refusal is shown as ENGINE NOT STARTED)."""
    from densitytui.engine.runner import open_engine

    async def factory(store: Store) -> TradingEngine:
        await store.lock_account(config.app.venue)
        return await open_engine(config, store, options)

    return factory


def _run_headless(config: Config, duration_s: float | None, options: EngineOptions) -> int:
    from densitytui.commands.headless import run_headless
    from densitytui.logging import close_logging, configure_logging

    configure_logging(config)
    try:
        return asyncio.run(run_headless(config, duration_s, options))
    finally:
        close_logging()
