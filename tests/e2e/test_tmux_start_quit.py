"""End to end: the installed `densitytui` command in a real tmux, as a trader starts it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXECUTABLE = Path(sys.executable).parent / "densitytui"


def _wait_for(
    condition: Callable[[], bool], what: str, timeout: float = 20.0, shown: Tmux | None = None
) -> None:
    """Poll until `condition` holds; the deadline only bounds a failure, it decides nothing.
    A failure shows the screen of `shown`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            screen = f"; the screen:\n{shown.screen()}" if shown else ""
            raise AssertionError(f"timed out waiting for {what}{screen}")
        time.sleep(0.05)


@dataclass
class Tmux:
    """One tmux server of its own (socket named after the session), so no other tmux user on
    the machine can resize or attach to the window under test."""

    session: str
    home: Path
    exit_status: Path

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.session, *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)


def _start(
    tmp_path: Path, size: tuple[int, int], arguments: str = "", environment: str = "",
) -> Tmux:
    session = f"densitytui-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    home.mkdir()
    done = tmp_path / "exit-status"
    command = (
        # The test runner may export COLUMNS/LINES (80x24), which would override the pane's size.
        f"unset COLUMNS LINES; cd {tmp_path} && HOME={home} XDG_CONFIG_HOME={home}/.config "
        f"XDG_DATA_HOME={home}/.local/share XDG_STATE_HOME={home}/.local/state {environment} "
        f"{EXECUTABLE} {arguments}; echo $? > {done}; sleep 60"
    )
    server = Tmux(session, home, done)
    server.run("new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command)
    server.run("set-option", "-t", session, "escape-time", "10")
    return server


@pytest.fixture
def tmux_sessions() -> Iterator[list[Tmux]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed; e2e tests need it (ENVIRONMENT.md)")
    sessions: list[Tmux] = []
    yield sessions
    for server in sessions:
        subprocess.run(
            ["tmux", "-L", server.session, "kill-server"], check=False, capture_output=True
        )


def _exit_status(tmux: Tmux) -> str:
    done = tmux.exit_status
    _wait_for(done.exists, "the app to exit", shown=tmux)
    _wait_for(lambda: done.read_text().strip() != "", "the exit status")
    return done.read_text().strip()


def test_command_one_starts_the_app_and_q_quits(tmp_path: Path, tmux_sessions: list[Tmux]) -> None:
    tmux = _start(tmp_path, (120, 32))
    tmux_sessions.append(tmux)
    _wait_for(lambda: "Quit" in tmux.screen(), "the app with its footer")
    _wait_for(lambda: "feed live" in tmux.screen(), "the simulated market streaming", shown=tmux)
    screen = tmux.screen()
    for title in ("Movers", "Signals", "Positions", "Events"):
        assert title in screen
    assert " SIM " in screen and " SEMI " in screen
    assert "q Quit" in screen and "f9 CLOSE ALL" in screen
    tmux.run("send-keys", "-t", tmux.session, "q")
    database = tmux.home / ".local" / "share" / "densitytui" / "densitytui.db"
    _wait_for(database.exists, "the database the app creates and migrates on start")
    assert _exit_status(tmux) == "0"


def _pane_rows(screen: str, title: str) -> list[str] | None:
    """The table rows of the pane titled `title` (below its header line), as text; None while
    the pane is not on screen (or a dialog covers its title)."""
    lines = screen.splitlines()
    tops = [i for i, line in enumerate(lines) if f"─ {title}" in line]
    if not tops:
        return None
    top = tops[0]
    column = lines[top].index(f"─ {title}") - 1
    rows = []
    for line in lines[top + 2 :]:
        cell = line[column:]
        if cell.startswith("╰"):
            break
        text = cell.strip("│ ")
        if "USDT" in text:  # a row names its symbol; scrollbars and blank lines do not
            rows.append(text)
    return rows


CONFIG = """
[app]
seed = 2
[sim]
symbols = ["XRPUSDT", "DOGEUSDT", "SUIUSDT"]
speed = 1.0
[alerts]
bell = false
desktop = false
telegram = true
telegram_api = "{api}"
telegram_chat_id = "42"
"""


class _FakeTelegram(BaseHTTPRequestHandler):
    """sendMessage of the Bot API, answered as Telegram does; the server keeps the bodies."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true, "result": {"message_id": 1}}')

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def telegram() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeTelegram)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_signal_is_confirmed_then_close_all_flattens(
    tmp_path: Path, tmux_sessions: list[Tmux], telegram: ThreadingHTTPServer,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(api=f"http://127.0.0.1:{telegram.server_address[1]}"))
    tmux = _start(tmp_path, (120, 40), f"--config {config} --seed 2",
                  environment="TELEGRAM_BOT_TOKEN=1:e2e NO_PROXY=127.0.0.1")
    tmux_sessions.append(tmux)
    _wait_for(lambda: "feed live" in tmux.screen(), "the simulated market streaming", shown=tmux)
    _wait_for(lambda: bool(_pane_rows(tmux.screen(), "Signals")), "a pending signal", 60, tmux)
    assert _pane_rows(tmux.screen(), "Positions") == []
    # The new signal's alert reached the (fake) Telegram Bot API.
    received = telegram.received  # type: ignore[attr-defined]
    _wait_for(lambda: bool(received), "the signal's alert at the fake Telegram", shown=tmux)
    path, body = received[0]
    assert path == "/bot1:e2e/sendMessage" and body["chat_id"] == "42"
    assert body["text"].startswith("densitytui signal: ")
    # Movers has the focus: Enter opens its symbol on the ladder and trades nothing.
    tmux.run("send-keys", "-t", tmux.session, "Enter")
    _wait_for(lambda: "on the ladder" in tmux.screen(), "the symbol opened by Enter", shown=tmux)
    assert _pane_rows(tmux.screen(), "Positions") == []
    # The screener lists the walls of every watched symbol with their distance to the price.
    densities = _pane_rows(tmux.screen(), "Densities")
    assert densities and all("%" in row for row in densities), densities
    tmux.run("send-keys", "-t", tmux.session, "Tab", "Tab")
    _wait_for(lambda: "y Confirm" in tmux.screen(), "the Signals pane's keys", shown=tmux)
    tmux.run("send-keys", "-t", tmux.session, "y")
    _wait_for(lambda: bool(_pane_rows(tmux.screen(), "Positions")), "the confirmed position", shown=tmux)
    positions = _pane_rows(tmux.screen(), "Positions")
    assert positions and ("LONG" in positions[0] or "SHORT" in positions[0])
    # At 120x40 the Positions table keeps its Stop and PnL columns.
    header = next(line for line in tmux.screen().splitlines() if "Symbol" in line and "Side" in line
                  and "Stop" in line)
    assert "PnL" in header
    tmux.run("send-keys", "-t", tmux.session, "F9")
    _wait_for(lambda: "CLOSE ALL positions" in tmux.screen(), "the close-all question", shown=tmux)
    tmux.run("send-keys", "-t", tmux.session, "y")
    _wait_for(lambda: _pane_rows(tmux.screen(), "Positions") == [], "no positions left", shown=tmux)
    assert "CLOSE ALL positions" not in tmux.screen()
    tmux.run("send-keys", "-t", tmux.session, "q")
    assert _exit_status(tmux) == "0"
