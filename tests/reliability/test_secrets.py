"""Secrets never reach the log, the database or the screen; the files are the owner's alone;
`live` starts only with its flag and the typed word.

Sessions of the real headless engine (and the app in tmux) trade a local fake Bybit with known,
distinctive keys, from the environment and from a 0600 secrets file, with the log at DEBUG (the
libraries' request logs included). Then every byte the session left is searched for the key and
the secret: the log files, the database with its WAL and shared-memory files, the headless output
and the app's screen with its scrollback.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from engine_process import EXECUTABLE, FAST, SYMBOLS, Desk, run_headless
from fake_bybit import FakeBybit

KEY = "dtKEYq7Vx3Lm9Rw2Zp"
SECRET = "dtSECRETn4Tb8Yc1Hs6Jk0"
FORMS = {
    "key": KEY.encode(), "secret": SECRET.encode(),
    "key (utf-16)": KEY.encode("utf-16-le"), "secret (utf-16)": SECRET.encode("utf-16-le"),
}


def _leaks(name: str, data: bytes) -> list[str]:
    return [f"the {form} is in {name}" for form, value in FORMS.items() if value in data]


def _scan(desk: Desk, *outputs: tuple[str, str]) -> list[str]:
    found: list[str] = []
    for path in desk.files():
        found += _leaks(str(path.relative_to(desk.root)), path.read_bytes())
    for name, text in outputs:
        found += _leaks(name, text.encode())
    return found


def _modes(desk: Desk) -> dict[str, str]:
    """Files others than the owner may read or write, with their modes."""
    return {
        str(p.relative_to(desk.root)): f"{stat.S_IMODE(p.stat().st_mode):04o}"
        for p in desk.files() if stat.S_IMODE(p.stat().st_mode) & 0o077
    }


def _desk(tmp_path: Path) -> Desk:
    """The session's own folder: the secrets file stays outside it, so it is not scanned."""
    root = tmp_path / "session"
    root.mkdir()
    return Desk(root)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with FakeBybit(SYMBOLS, api_key=KEY, api_secret=SECRET, speed=FAST) as exchange:
        yield exchange


async def test_keys_from_the_environment_leave_no_trace(tmp_path: Path, fake: FakeBybit) -> None:
    desk = _desk(tmp_path)
    # Densities confirm after 1 s of market time: the session trades within its 5 s.
    desk.write_config(fake, level="DEBUG", extra="[density]\nmin_lifetime_s = 1.0\n")
    env = desk.env(BYBIT_API_KEY=KEY, BYBIT_API_SECRET=SECRET)
    done = await run_headless(desk, env, "run", "--headless", "--duration", "5")
    assert done.returncode == 0, done.stderr
    # The session signed requests of every kind: orders, stop-losses, lookups, the stream login.
    assert " opened " in done.stdout, done.stdout
    assert any(path == "/v5/order/create" for _, path in fake.requests)
    assert desk.log.stat().st_size > 0 and desk.db.exists()
    assert _scan(desk, ("stdout", done.stdout), ("stderr", done.stderr)) == []
    assert _modes(desk) == {}


async def test_a_refused_signature_names_no_key(tmp_path: Path, fake: FakeBybit) -> None:
    """Bybit's 10004 answer quotes the signed string, key included: shown and stored, it must
    be masked. The keys come from a 0600 secrets file."""
    desk = _desk(tmp_path)
    desk.write_config(fake, level="DEBUG")
    secrets = tmp_path / "keys.env"
    secrets.write_text(f"BYBIT_API_KEY={KEY}\nBYBIT_API_SECRET=wrong-{SECRET}\n")
    secrets.chmod(0o600)
    env = desk.env(DENSITYTUI_SECRETS_FILE=str(secrets))
    done = await run_headless(desk, env, "run", "--headless", "--duration", "5")
    # Refused in one line, exit status 2, no traceback.
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "cannot start" in done.stderr and "10004" in done.stderr, done.stderr
    assert _scan(desk, ("stdout", done.stdout), ("stderr", done.stderr)) == [], done
    assert _modes(desk) == {}


@pytest.mark.e2e
async def test_keys_from_a_private_file_leave_no_trace_on_the_app_screen(
    tmp_path: Path, fake: FakeBybit,
) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed; the screen check needs it (ENVIRONMENT.md)")
    desk = _desk(tmp_path)
    desk.write_config(fake, mode="semi", level="DEBUG")
    secrets = tmp_path / "keys.env"
    secrets.write_text(f"BYBIT_API_KEY={KEY}\nBYBIT_API_SECRET={SECRET}\n")
    secrets.chmod(0o600)
    env = desk.env(DENSITYTUI_SECRETS_FILE=str(secrets))
    session = f"dt-secrets-{uuid.uuid4().hex[:8]}"
    exports = " ".join(f"{k}={env[k]}" for k in (
        "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "DENSITYTUI_SECRETS_FILE"))
    done = tmp_path / "exit-status"
    command = (f"unset COLUMNS LINES; cd {tmp_path} && {exports} {EXECUTABLE} --config "
               f"{desk.config}; echo $? > {done}; sleep 60")

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", session, *args], check=True, capture_output=True,
                              text=True).stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", session)

    tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "40", command)
    try:
        await _until(lambda: "feed live" in screen() and "TESTNET" in screen(), "the app live",
                     screen)
        await _until(lambda: " signal " in screen() or "Buy" in screen() or "Sell" in screen(),
                     "a signal on screen", screen)
        shown = screen()
        tmux("send-keys", "-t", session, "q")
        await _until(lambda: done.exists() and done.read_text().strip() != "", "the app to quit",
                     screen)
        assert done.read_text().strip() == "0", screen()
    finally:
        subprocess.run(["tmux", "-L", session, "kill-server"], check=False, capture_output=True)
    assert _scan(desk, ("the app's screen", shown)) == []
    assert _modes(desk) == {}


async def _until(
    condition: Callable[[], bool], what: str, screen: Callable[[], str], timeout: float = 60.0,
) -> None:
    """Poll until `condition` holds; the deadline only bounds a failure."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen()}")
        await asyncio.sleep(0.1)
