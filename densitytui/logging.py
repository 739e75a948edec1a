"""Structured logs: JSON lines to a file, because the terminal belongs to the UI.

Every record passes through `redact_secrets` before it is written, and the app's log pane reads
the same records from `LogTail`, so what the trader sees is what the file holds.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import structlog

from densitytui.config import SECRET_WORDS, Config
from densitytui.paths import default_log_path

REDACTED = "***"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_secret_values: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a secret so that it is masked wherever it would appear in a log record."""
    if len(value) >= 4:
        with _lock:
            _secret_values.add(value)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secret_values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: REDACTED if _is_secret_key(k) else _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def _is_secret_key(key: object) -> bool:
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_WORDS) or lowered in ("sign", "x-bapi-sign")


def redact_secrets(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace secret-named fields and any registered secret value inside any field."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTED if _is_secret_key(key) else _mask(value)
    return event_dict


class LogTail:
    """The most recent records, for the app's log pane.

    Records arrive from any thread (libraries log from their workers: pybit's REST threads), so
    the pane reads a `snapshot`, never the deque itself, which another thread may be growing."""

    def __init__(self, size: int = 500) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=size)
        self.count = 0
        self._lock = threading.Lock()

    def __call__(
        self, _logger: object, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        record = dict(event_dict)
        with self._lock:
            self.records.append(record)
            self.count += 1
        return event_dict

    def snapshot(self) -> tuple[list[dict[str, Any]], int]:
        """The records kept and the count of every record logged, taken together."""
        with self._lock:
            return list(self.records), self.count


def _open_private(path: Path, *, append: bool) -> BinaryIO:
    """The log file, readable by its owner alone (0600): created so, and an existing one
    tightened, since its records name the account's orders and positions."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab" if append else "wb")


class _JsonLinesFile:
    """A structlog logger writing one JSON object per line, flushed so a crash loses nothing.

    The file rotates by size: past `max_bytes` it becomes `<name>.1` (the older ones shift to
    `.2`... and the one beyond `backups` is deleted), so a long or chatty session keeps at most
    `(backups + 1) x max_bytes` on disk."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._stream: BinaryIO = _open_private(path, append=True)
        self._size = self._stream.tell()
        self._lock = threading.Lock()

    def msg(self, message: bytes) -> None:
        with self._lock:
            if self._stream.closed:
                return
            line = message + b"\n"
            if self._size and self._size + len(line) > self.max_bytes:
                self._rotate()
            self._stream.write(line)
            self._stream.flush()
            self._size += len(line)

    def _rotate(self) -> None:
        self._stream.close()
        if self.backups:
            for index in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
            self._stream = _open_private(self.path, append=True)
        else:
            self._stream = _open_private(self.path, append=False)
        self._size = 0

    def close(self) -> None:
        with self._lock:
            self._stream.close()

    debug = info = warning = warn = error = critical = exception = log = msg


def close_logging() -> None:
    """Close the log file and return structlog and `logging` to their defaults."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdlibBridge)]:
        root.removeHandler(handler)
        handler.sink.close()
    structlog.reset_defaults()


# Formats a record's exception as text (a Handler has no formatter of its own by default).
_TRACEBACKS = logging.Formatter()


class _StdlibBridge(logging.Handler):
    """Routes records of libraries that use `logging` (asyncio, websockets...) into the same file,
    so that nothing falls through to stderr and tears the UI."""

    def __init__(self, sink: _JsonLinesFile, level: int) -> None:
        super().__init__(level)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        event: MutableMapping[str, Any] = {
            "event": record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).strftime(ISO_FORMAT),
        }
        if record.exc_info:
            event["exception"] = _TRACEBACKS.formatException(record.exc_info)
        event = tail(None, "", redact_secrets(None, "", event))
        self.sink.msg(orjson.dumps(event, default=str))


tail = LogTail()


def library_level(level: int) -> int:
    """What the libraries beneath us (pybit, websockets, asyncio) may write: their INFO is
    plumbing, not trading, so below DEBUG only their warnings and errors reach the file."""
    return level if level <= logging.DEBUG else max(level, logging.WARNING)


def log_path(config: Config) -> Path:
    return Path(config.logging.file).expanduser() if config.logging.file else default_log_path()


def configure_logging(config: Config, path: Path | None = None) -> Path:
    """Send every structlog record to the JSON log file; return the file's path."""
    target = path or log_path(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    settings = config.logging
    level = logging.getLevelNamesMapping()[settings.level]
    close_logging()
    sink = _JsonLinesFile(target, round(settings.max_file_mb * 1_000_000), settings.keep_files)
    root = logging.getLogger()
    root.addHandler(_StdlibBridge(sink, level))
    root.setLevel(library_level(level))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            tail,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_: sink,
        cache_logger_on_first_use=False,
    )
    return target
