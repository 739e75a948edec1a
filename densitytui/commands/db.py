"""`densitytui db migrate` and `densitytui db info`: the database behind the app, from the shell.

Both read `storage.url` from the config (or `--db PATH`). `info` never creates or changes
anything, so it is safe to run while the app is writing. Exit status: 0 done, 1 the database
could not be used, 2 bad config or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from densitytui.commands.settings import config_or_exit
from densitytui.config import StorageSection
from densitytui.storage import StoreError, StoreInfo, create_store
from densitytui.storage.migrations import LATEST_VERSION, MIGRATIONS
from densitytui.storage.sqlite import SqliteStore


def register(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser(
        "db", parents=parents, help="apply database migrations, or show what the database holds",
        description="The database named by storage.url in the config, or by --db PATH.",
    )
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    actions.add_parser(
        "migrate", parents=parents, help="apply pending migrations and print the schema version"
    )
    actions.add_parser(
        "info", parents=parents,
        help="print backend, location, schema version and rows per table (changes nothing)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    storage = config_or_exit(args).storage
    action = migrate if args.db_action == "migrate" else info
    try:
        return asyncio.run(action(storage))
    except StoreError as exc:
        print(f"densitytui db {args.db_action}: {exc}", file=sys.stderr)
        return 1


async def migrate(storage: StorageSection) -> int:
    store = create_store(storage)
    await store.connect()
    async with store:
        applied = await store.migrate()
        version = await store.schema_version()
    print(f"{store.backend} {store.location}")
    if applied:
        print("applied " + ", ".join(MIGRATIONS[number - 1].label for number in applied))
    else:
        print("no pending migrations")
    print(f"schema version {version}")
    return 0


async def info(storage: StorageSection) -> int:
    store = create_store(storage)
    if isinstance(store, SqliteStore) and not store.path.exists():
        print(
            f"densitytui db info: no database at {store.path} "
            "(`densitytui db migrate` or the app creates it)",
            file=sys.stderr,
        )
        return 1
    await store.connect()
    async with store:
        print(describe(await store.info()))
    return 0


def describe(info: StoreInfo) -> str:
    if info.schema_version == LATEST_VERSION:
        state = "up to date"
    elif info.schema_version < LATEST_VERSION:
        state = f"latest is {LATEST_VERSION}: run `densitytui db migrate`"
    else:
        state = f"newer than this densitytui ({LATEST_VERSION}): upgrade densitytui"
    lines = [
        f"backend         {info.backend}",
        f"location        {info.location}",
        f"schema version  {info.schema_version} ({state})",
        *(f"note            {note}" for note in info.notes),
        "rows per table",
    ]
    width = max((len(table) for table in info.row_counts), default=0)
    lines.extend(f"  {table:<{width}}  {count:>10,}" for table, count in info.row_counts.items())
    if not info.row_counts:
        lines.append("  (no tables yet)")
    return "\n".join(lines)
