"""Fixtures every test area shares: where ../shared data lives."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

# Stable screens for snapshot and pilot tests (ENVIRONMENT.md): no animations, no cursor blink.
os.environ["TEXTUAL_ANIMATIONS"] = "none"

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
BTC_FILE = SHARED_DATA / "btcusdt-2024-08-08.bybit.jsonl.gz"
XRP_FILE = SHARED_DATA / "xrpusdt-ob500-2024-12-01.bybit.jsonl"
DOCS_EXAMPLES = ROOT.parent / "shared" / "bybit" / "docs-examples"


def pytest_report_header() -> str:
    """Which market core this run tests (CI runs the suite once with each)."""
    from densitytui.market import core

    return f"densitytui market core: {core.running()}"


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real ~/.config, ~/.local/share and ~/.local/state."""
    home = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))


@pytest.fixture(autouse=True)
def _no_database_thread_left() -> Iterator[None]:
    """An aiosqlite connection left open keeps a non-daemon thread, and with it the whole test
    run, alive after the last test: fail the test that leaked it instead."""
    before = set(threading.enumerate())
    yield
    leaked = [
        thread
        for thread in threading.enumerate()
        if thread not in before and "_connection_worker_thread" in thread.name
    ]
    for thread in leaked:
        thread.join(timeout=5)
    assert not [t for t in leaked if t.is_alive()], "a SQLite connection was left open"


def _shared(path: Path) -> Path:
    """A file of ../shared, or a failure saying where it is expected; a skip only when
    DENSITYTUI_NO_SHARED_DATA=1 says the shared workspace is knowingly absent."""
    if not path.exists():
        where = f"shared data {path} is absent (expected at ../shared beside the project root)"
        if os.environ.get("DENSITYTUI_NO_SHARED_DATA") == "1":
            pytest.skip(f"{where}; DENSITYTUI_NO_SHARED_DATA=1")
        pytest.fail(f"{where}; set DENSITYTUI_NO_SHARED_DATA=1 to skip tests that need it")
    return path


@pytest.fixture(scope="session")
def btc_file() -> Path:
    """5.7 minutes of real BTCUSDT book and trades in Bybit v5 format."""
    return _shared(BTC_FILE)


@pytest.fixture(scope="session")
def xrp_file() -> Path:
    """50 messages of Bybit's own ob500 history file for XRPUSDT."""
    return _shared(XRP_FILE)


@pytest.fixture(scope="session")
def docs_examples() -> Path:
    """Bybit's official v5 request and response examples."""
    return _shared(DOCS_EXAMPLES)
