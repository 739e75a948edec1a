"""`storage.url`: which backend and where, and never a password on the screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from densitytui.paths import default_db_path
from densitytui.storage.url import parse_store_url, redact_dsn, scrub


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://trader:hunter2@db.local:5432/densitytui",
         "postgresql://trader:***@db.local:5432/densitytui"),
        ("postgres://trader:p%40ss@[::1]:5432/d", "postgres://trader:***@[::1]:5432/d"),
        ("postgresql://trader:a@b@host/d", "postgresql://trader:***@host/d"),
        ("postgresql://trader:a/b?c#d@host/d", "postgresql://trader:***@host/d"),
        ("postgresql://host/d?user=t&password=hunter2&sslmode=require",
         "postgresql://host/d?user=t&password=***&sslmode=require"),
        ("postgresql://trader@host/d", "postgresql://trader@host/d"),
        ("postgresql:///d", "postgresql:///d"),
    ],
)
def test_passwords_are_redacted(url: str, expected: str) -> None:
    assert redact_dsn(url) == expected
    assert parse_store_url(url).location == expected


def test_scrub_masks_the_password_in_any_form() -> None:
    dsn = "postgresql://trader:p%40ss@host/d?password=other"
    text = "auth failed for p@ss; raw p%40ss; query other"
    assert scrub(text, dsn) == "auth failed for ***; raw ***; query ***"
    assert scrub("nothing secret", "postgresql://host/d") == "nothing secret"


def test_sqlite_urls() -> None:
    assert parse_store_url("").path == default_db_path()
    assert parse_store_url("sqlite:////abs/dir/x.db").path == Path("/abs/dir/x.db")
    assert parse_store_url("sqlite:///rel/x.db").path == Path("rel/x.db")
    assert parse_store_url("sqlite:///~/x.db").path == Path.home() / "x.db"
    assert parse_store_url("sqlite:///rel/x.db").backend == "sqlite"


def test_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="no file after sqlite:///"):
        parse_store_url("sqlite:///")
    with pytest.raises(ValueError, match=r"'mysql://u:\*\*\*@h/d': storage.url must be"):
        parse_store_url("mysql://u:secret@h/d")
