"""Tests that need ../shared fail loudly without it, unless told the workspace is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _shared


def test_missing_shared_data_fails_saying_where_it_is_expected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DENSITYTUI_NO_SHARED_DATA", raising=False)
    missing = tmp_path / "shared" / "data" / "btcusdt.jsonl.gz"
    with pytest.raises(pytest.fail.Exception, match=r"expected at \.\./shared") as failure:
        _shared(missing)
    assert str(missing) in str(failure.value)


def test_missing_shared_data_skips_only_when_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DENSITYTUI_NO_SHARED_DATA", "1")
    with pytest.raises(pytest.skip.Exception, match="DENSITYTUI_NO_SHARED_DATA=1"):
        _shared(tmp_path / "absent")


def test_present_shared_data_is_returned(tmp_path: Path) -> None:
    present = tmp_path / "data.jsonl"
    present.write_bytes(b"{}\n")
    assert _shared(present) == present
