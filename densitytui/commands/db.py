"""`densitytui db` (being built)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", parents=parents, help="(being built)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("db: not built yet")
