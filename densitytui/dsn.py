"""Database URLs shown without their passwords: in config errors, logs, `db info`, the screen.

Below both the config (which reports a rejected `storage.url`) and the stores (which print
where they are), so each masks the same way.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

REDACTED = "***"
QUERY_PASSWORD = re.compile(r"(?<=[?&])password=[^&#]*")
# libpq's `key=value` form, which storage.url refuses: its password is masked in the refusal.
KEYWORD_PASSWORD = re.compile(r"(?<![\w.])password\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)")


def _userinfo(rest: str) -> tuple[str, str]:
    """`user:password` and what follows its `@`, from a URL after `scheme://`.

    The password ends at the last `@` of the URL, so one written with an unencoded `/`, `?`,
    `#` or `@` is still taken whole (masking a little too much beats showing any of it)."""
    userinfo, at, after = rest.rpartition("@")
    return (userinfo, after) if at else ("", rest)


def dsn_passwords(dsn: str) -> set[str]:
    """Every password a DSN carries (in its netloc or as `password=`), as written and decoded."""
    _, separator, rest = dsn.partition("://")
    written: list[str] = []
    if separator:
        userinfo, _ = _userinfo(rest)
        if ":" in userinfo:
            written.append(userinfo.split(":", 1)[1])
    written.extend(match.group(0).removeprefix("password=")
                   for match in QUERY_PASSWORD.finditer(dsn))
    return {form for password in written for form in (password, unquote(password)) if form}


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by `***`, and otherwise exactly as written."""
    scheme, separator, rest = dsn.partition("://")
    if not separator:
        return KEYWORD_PASSWORD.sub(f"password={REDACTED}", dsn)
    userinfo, after = _userinfo(rest)
    if ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{after}"
    return f"{scheme}://{QUERY_PASSWORD.sub(f'password={REDACTED}', rest)}"


def scrub(text: str, dsn: str) -> str:
    """`text` (e.g. a driver's error message) with the DSN's passwords masked."""
    for password in sorted(dsn_passwords(dsn), key=len, reverse=True):
        text = text.replace(password, REDACTED)
    return text
