"""One engine per account: a lock that the store holds for the life of the engine's process.

The lock belongs to the account (the venue) and the store, not to the user or the way a path is
written: a SQLite store takes an advisory `flock` on a file beside its database (its real path,
so a relative `storage.url`, a symlink or another `$HOME` name the same lock), a PostgreSQL
store a session advisory lock in the database. The kernel or the server frees either when the
process dies, even by SIGKILL, and a second engine on the same account refuses to start,
naming the holder.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path


class AccountLocked(Exception):
    """Another process trades this account."""


def holder_text() -> str:
    """Who takes a lock: `pid 123 on host since 2026-12-07T11:00:00Z`."""
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"pid {os.getpid()} on {socket.gethostname()} since {since}"


def refusal(account: str, holder: str, where: str) -> AccountLocked:
    return AccountLocked(
        f"another densitytui engine ({holder or 'holder unknown'}) already trades {account}; "
        f"stop it first ({where})"
    )


class FileLock:
    """`acquire()` or raise `AccountLocked`; `release()` (or the process's end) frees it."""

    def __init__(self, path: Path, account: str) -> None:
        self.path = path
        self.account = account
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise refusal(self.account, holder, f"lock {self.path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder_text()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
