"""Recorded Bybit public messages, read back as raw frames (bytes, one message each).

Three shapes are read, told apart by their first bytes rather than their names:
- NDJSON: one JSON message per line (our recordings, the shared test data);
- gzip of NDJSON (`.jsonl.gz`: what the simulated market writes);
- Bybit's history archives: a `.zip` holding `*_obNNN.data` files (NDJSON inside), read in
  name order.
Blank lines are skipped. Anything that cannot be opened or decompressed raises
`RecordingError` with the path and the reason; what the lines say is the decoder's business.
"""

from __future__ import annotations

import gzip
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# Bybit history members: 2024-12-01_XRPUSDT_ob500.data; also plain NDJSON members.
MEMBER_PATTERN = re.compile(r"(_ob\d+\.data|\.jsonl|\.ndjson|\.json|\.data)$")
# Bytes read (decompressed) at a time.
READ_BLOCK = 1 << 20


class RecordingError(Exception):
    """A recording that cannot be read; the message names the file and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[RecordingError], tuple[str, str]]:
        # A sweep's worker process raises it; the parent must get it back whole.
        return (RecordingError, (self.path, self.reason))


class Recording:
    """One recorded file; iterate it for frames, ask `progress()` how far reading has come."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.size = self.path.stat().st_size
            with self.path.open("rb") as probe:
                head = probe.read(4)
        except OSError as exc:
            raise RecordingError(self.path, exc.strerror or str(exc)) from None
        if self.path.is_dir():
            raise RecordingError(self.path, "is a directory")
        if head.startswith(GZIP_MAGIC):
            self.kind = "gzip"
        elif head.startswith(ZIP_MAGIC):
            self.kind = "zip"
        else:
            self.kind = "ndjson"
        self._raw: BinaryIO | None = None

    def progress(self) -> float:
        """Share of the file's bytes read so far, 0..1."""
        raw = self._raw
        if raw is None or raw.closed or not self.size:
            return 0.0
        return min(1.0, raw.tell() / self.size)

    def __iter__(self) -> Iterator[bytes]:
        for block in self.blocks():
            yield from block

    def blocks(self) -> Iterator[list[bytes]]:
        """The frames in lists, as read: for a reader that pays per item handed out."""
        try:
            with self.path.open("rb") as raw:
                self._raw = raw
                if self.kind == "gzip":
                    with gzip.GzipFile(fileobj=raw) as lines:
                        yield from _blocks(lines)
                elif self.kind == "zip":
                    yield from self._zip_blocks(raw)
                else:
                    yield from _blocks(raw)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
            raise RecordingError(self.path, _reason(exc)) from None

    def _zip_blocks(self, raw: BinaryIO) -> Iterator[list[bytes]]:
        with zipfile.ZipFile(raw) as archive:
            names = sorted(n for n in archive.namelist() if MEMBER_PATTERN.search(n))
            if not names:
                raise RecordingError(self.path, "the zip holds no *_obNNN.data or .jsonl file")
            for name in names:
                with archive.open(name) as member:
                    yield from _blocks(member)


def _blocks(stream: BinaryIO) -> Iterator[list[bytes]]:
    """The stream's non-blank lines, stripped, a block's worth at a time: a readline per frame
    costs as much as decompressing the file."""
    rest = b""
    while block := stream.read(READ_BLOCK):
        lines = block.split(b"\n")
        if rest:
            # The line the last block cut: joined alone, not the whole block copied.
            lines[0] = rest + lines[0]
        rest = lines.pop()
        frames = list(filter(None, map(bytes.strip, lines)))
        if frames:
            yield frames
    rest = rest.strip()
    if rest:
        yield [rest]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed stream ends early (truncated file)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def read_frames(path: str | Path) -> Iterator[bytes]:
    """Every frame of one recording, in order; `RecordingError` if it cannot be read."""
    return iter(Recording(path))
