"""One engine per account: a lock file held for the life of the process.

The lock is an advisory `flock` on a file named after the account (venue and store location),
so it is released by the kernel when the process dies, even by SIGKILL, and a second engine on
the same account refuses to start with the holder's pid in the message.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path


class AccountLocked(Exception):
    """Another process trades this account."""


class AccountLock:
    """`acquire()` or raise `AccountLocked`; `release()` (or process exit) frees it."""

    def __init__(self, lock_dir: Path, venue: str, store_location: str) -> None:
        digest = hashlib.sha256(f"{venue}\0{store_location}".encode()).hexdigest()[:16]
        self.path = lock_dir / f"engine-{venue}-{digest}.lock"
        self.venue = venue
        self.store_location = store_location
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AccountLocked(
                f"another densitytui engine (pid {holder}) already trades venue "
                f"{self.venue} on {self.store_location}; stop it first (lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AccountLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
