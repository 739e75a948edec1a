"""One async store over SQLite and PostgreSQL: `open_store(config.storage)` gives a `Store`."""

from densitytui.storage.base import (
    CorruptRecord,
    DuplicateRecord,
    InvalidRecord,
    PositionClosed,
    RecordNotFound,
    SchemaTooNew,
    Store,
    StoreError,
    StoreInfo,
    StoreUnavailable,
)
from densitytui.storage.factory import create_store, open_store

__all__ = [
    "CorruptRecord",
    "DuplicateRecord",
    "InvalidRecord",
    "PositionClosed",
    "RecordNotFound",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreInfo",
    "StoreUnavailable",
    "create_store",
    "open_store",
]
