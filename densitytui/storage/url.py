"""What `storage.url` points at, and how to show it without its password.

Empty means the SQLite file in the user data dir; `sqlite:///PATH` is a SQLite file (a relative
PATH is relative to the working directory, `sqlite:////abs/path` is absolute, as in SQLAlchemy);
`postgresql://` or `postgres://` is a libpq DSN handed to asyncpg as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from densitytui.paths import default_db_path

REDACTED = "***"
QUERY_PASSWORD = re.compile(r"(?<=[?&])password=[^&#]*")
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
    if urlsplit(url).scheme in POSTGRES_SCHEMES:
        return StoreTarget("postgresql", dsn=url)
    raise ValueError(
        f"{redact_dsn(url)!r}: storage.url must be empty, sqlite:///PATH or postgresql://DSN"
    )


def dsn_passwords(dsn: str) -> set[str]:
    """Every password a DSN carries (in its netloc or as `password=`), as written and decoded."""
    parts = urlsplit(dsn)
    written: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        written.append(userinfo.split(":", 1)[1])
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if name == "password":
            written.append(value)
    return {form for password in written for form in (password, unquote(password)) if form}


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by `***`, and otherwise exactly as written."""
    scheme, separator, rest = dsn.partition("://")
    if not separator:
        return dsn
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{hostport}"
    tail = QUERY_PASSWORD.sub(f"password={REDACTED}", tail)
    return f"{scheme}://{netloc}{tail}"


def scrub(text: str, dsn: str) -> str:
    """`text` (e.g. a driver's error message) with the DSN's passwords masked."""
    for password in sorted(dsn_passwords(dsn), key=len, reverse=True):
        text = text.replace(password, REDACTED)
    return text
