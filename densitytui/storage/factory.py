"""Choose and open the store that `storage.url` names."""

from __future__ import annotations

from densitytui.config import StorageSection
from densitytui.storage.base import Store, StoreError
from densitytui.storage.postgres import PostgresStore
from densitytui.storage.sqlite import SqliteStore
from densitytui.storage.url import parse_store_url


def create_store(storage: StorageSection) -> Store:
    """The store for `storage.url`, not connected yet."""
    try:
        target = parse_store_url(storage.url)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    if target.path is not None:
        return SqliteStore(target.path, storage.retention_days)
    return PostgresStore(target.dsn, storage.retention_days)


async def open_store(storage: StorageSection, *, migrate: bool = True) -> Store:
    """The store for `storage.url`, connected and (unless told otherwise) migrated."""
    store = create_store(storage)
    await store.connect()
    if migrate:
        try:
            await store.migrate()
        except BaseException:
            await store.close()
            raise
    return store
