"""What `storage.url` points at, and how to show it without its password.

Empty means the SQLite file in the user data dir; `sqlite:///PATH` is a SQLite file (a relative
PATH is relative to the working directory, `sqlite:////abs/path` is absolute, as in SQLAlchemy);
`postgresql://` or `postgres://` is a libpq DSN handed to asyncpg as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from densitytui.dsn import REDACTED, dsn_passwords, redact_dsn, scrub
from densitytui.paths import default_db_path

__all__ = ["REDACTED", "StoreTarget", "dsn_passwords", "parse_store_url", "redact_dsn", "scrub"]
SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """A parsed `storage.url`: a SQLite `path`, or a PostgreSQL `dsn`."""

    backend: str
    path: Path | None = None
    dsn: str = ""

    @property
    def location(self) -> str:
        """Safe to print and log."""
        return str(self.path) if self.path is not None else redact_dsn(self.dsn)


def parse_store_url(url: str) -> StoreTarget:
    if not url:
        return StoreTarget("sqlite", path=default_db_path())
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path:
            raise ValueError(f"{url!r}: no file after sqlite:///")
        return StoreTarget("sqlite", path=Path(path).expanduser())
    if url.partition("://")[0] in POSTGRES_SCHEMES:
        return StoreTarget("postgresql", dsn=url)
    raise ValueError(
        f"{redact_dsn(url)!r}: storage.url must be empty, sqlite:///PATH or postgresql://DSN"
    )
