"""Recordings read in blocks: every non-blank line once, stripped, whatever the block size."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from densitytui.venues import recording
from densitytui.venues.recording import Recording

LINES = [
    b'{"topic":"publicTrade.BTCUSDT","ts":1}',
    b"",
    b"   ",
    b'{"topic":"orderbook.50.BTCUSDT","ts":2,"data":{"b":[["1.0","2"]]}}\r',
    b'  {"topic":"tickers.BTCUSDT","ts":3}  ',
    b"\t",
    b'{"topic":"publicTrade.BTCUSDT","ts":4,"data":[' + b'{"p":"1.5"},' * 40 + b"{}]}",
]
# The last line has no newline after it.
TEXT = b"\n".join(LINES)
EXPECTED = [line.strip() for line in LINES if line.strip()]


def _write(tmp_path: Path, kind: str) -> Path:
    if kind == "ndjson":
        path = tmp_path / "r.jsonl"
        path.write_bytes(TEXT)
    elif kind == "gzip":
        path = tmp_path / "r.jsonl.gz"
        path.write_bytes(gzip.compress(TEXT))
    else:
        path = tmp_path / "r.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("2024-12-01_BTCUSDT_ob50.data", TEXT)
    return path


@pytest.mark.parametrize("kind", ["ndjson", "gzip", "zip"])
@pytest.mark.parametrize("block", [1, 5, 64, 1 << 20])
def test_every_frame_once_across_block_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, block: int,
) -> None:
    monkeypatch.setattr(recording, "READ_BLOCK", block)
    path = _write(tmp_path, kind)
    assert list(Recording(path)) == EXPECTED
    blocks = list(Recording(path).blocks())
    assert all(blocks) and [f for b in blocks for f in b] == EXPECTED
