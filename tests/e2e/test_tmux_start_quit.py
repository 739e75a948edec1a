"""End to end: the installed `densitytui` command in a real tmux, as a trader starts it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXECUTABLE = Path(sys.executable).parent / "densitytui"


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll until `condition` holds; the deadline only bounds a failure, it decides nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Tmux:
    session: str
    home: Path
    exit_status: Path

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed; e2e tests need it (ENVIRONMENT.md)")
    session = f"densitytui-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    home.mkdir()
    done = tmp_path / "exit-status"
    command = (
        f"cd {tmp_path} && HOME={home} XDG_CONFIG_HOME={home}/.config "
        f"XDG_DATA_HOME={home}/.local/share XDG_STATE_HOME={home}/.local/state "
        f"{EXECUTABLE}; echo $? > {done}; sleep 60"
    )
    server = Tmux(session, home, done)
    server.run("new-session", "-d", "-s", session, "-x", "120", "-y", "32", command)
    server.run("set-option", "-t", session, "escape-time", "10")
    yield server
    subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


def test_command_one_starts_the_app_and_q_quits(tmux: Tmux) -> None:
    _wait_for(lambda: "Quit" in tmux.screen(), "the app with its footer")
    screen = tmux.screen()
    for title in ("Movers", "Book", "Signals", "Positions"):
        assert title in screen
    assert "venue sim" in screen
    assert "mode semi" in screen
    assert "q Quit" in screen
    tmux.run("send-keys", "-t", tmux.session, "q")
    database = tmux.home / ".local" / "share" / "densitytui" / "densitytui.db"
    _wait_for(database.exists, "the database the app creates and migrates on start")
    done = tmux.exit_status
    _wait_for(done.exists, "the app to exit after q")
    _wait_for(lambda: done.read_text().strip() != "", "the exit status")
    assert done.read_text().strip() == "0"
