"""Turn the parsed command line into the `Config` in force: the file, then the CLI overrides."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from densitytui.config import Config, ConfigError, load_config


def config_from_args(args: argparse.Namespace) -> Config:
    """Load the config file and apply --venue, --mode, --seed and --db; raise `ConfigError`."""
    config, _ = load_config(getattr(args, "config", None))
    app: dict[str, Any] = {}
    for key in ("venue", "mode", "seed"):
        value = getattr(args, key, None)
        if value is not None:
            app[key] = value
    update: dict[str, Any] = {}
    if app:
        update["app"] = config.app.model_validate({**config.app.model_dump(), **app})
    db = getattr(args, "db", None)
    if db:
        url = f"sqlite:///{Path(db).expanduser().resolve()}"
        update["storage"] = config.storage.model_copy(update={"url": url})
    return config.model_copy(update=update) if update else config


def config_or_exit(args: argparse.Namespace) -> Config:
    """`config_from_args`, or the problems on stderr, one per line, and exit status 2."""
    try:
        return config_from_args(args)
    except ConfigError as exc:
        if len(exc.problems) == 1:
            print(f"densitytui: bad config {exc.source}: {exc.problems[0]}", file=sys.stderr)
        else:
            print(f"densitytui: bad config {exc.source}:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None
