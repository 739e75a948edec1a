"""One engine per account, end to end: the app in a real tmux and the headless engine, started
in every order on one database named by a relative path from one `$HOME` and by an absolute
path from another. The first engine trades; the second refuses in one line with exit status 2
and never starts an engine (the store holds one `started` event afterwards)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_tmux_start_quit import EXECUTABLE, Tmux, _wait_for

pytestmark = pytest.mark.e2e

CONFIG = """
[sim]
symbols = ["XRPUSDT", "DOGEUSDT"]
speed = 1.0
[storage]
url = "sqlite:///{path}"
"""


@dataclass
class Desk:
    """A working directory holding the database, and two users' homes."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "desk" / "trading.db"

    def config(self, relative: bool) -> Path:
        path = self.root / ("relative.toml" if relative else "absolute.toml")
        path.write_text(CONFIG.format(path="trading.db" if relative else self.database))
        return path

    def env(self, home: str) -> dict[str, str]:
        base = self.root / home
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "COLUMNS", "LINES"))}
        env.update(HOME=str(base), XDG_CONFIG_HOME=f"{base}/.config",
                   XDG_DATA_HOME=f"{base}/.local/share", XDG_STATE_HOME=f"{base}/.local/state")
        return env

    def started_events(self) -> int:
        with closing(sqlite3.connect(self.database)) as db:
            return db.execute("SELECT COUNT(*) FROM events WHERE kind = 'started'").fetchone()[0]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    (tmp_path / "desk").mkdir()
    yield Desk(tmp_path)


@dataclass
class Engine:
    """A running engine of either kind, holding the account."""

    kind: str
    process: subprocess.Popen[str] | None = None
    tmux: Tmux | None = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            assert self.process.wait(timeout=60) == 0
        if self.tmux is not None:
            self.tmux.run("send-keys", "-t", self.tmux.session, "q")
            _wait_for(lambda: self.tmux.exit_status.exists()
                      and self.tmux.exit_status.read_text().strip() != "", "the app to quit",
                      60, self.tmux)
            assert self.tmux.exit_status.read_text().strip() == "0"
            self.tmux.run("kill-server")


def _command(desk: Desk, kind: str, relative: bool) -> list[str]:
    config = desk.config(relative)
    if kind == "headless":
        return [str(EXECUTABLE), "--config", str(config), "run", "--headless"]
    return [str(EXECUTABLE), "--config", str(config)]


def _start_app(desk: Desk, relative: bool, home: str) -> Tmux:
    """The app in a tmux pane of its own (it draws on stderr: a refusal stays on the pane)."""
    session = f"densitytui-lock-{uuid.uuid4().hex[:8]}"
    done = desk.root / f"{session}.status"
    env = desk.env(home)
    exports = " ".join(f"{k}={env[k]}" for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                                  "XDG_STATE_HOME"))
    command = (f"unset COLUMNS LINES; cd {desk.root / 'desk'} && {exports} "
               f"{' '.join(_command(desk, 'app', relative))}; echo $? > {done}; sleep 60")
    tmux = Tmux(session, desk.root / home, done)
    tmux.run("new-session", "-d", "-s", session, "-x", "120", "-y", "32", command)
    tmux.run("set-option", "-t", session, "escape-time", "10")
    return tmux


def _first(desk: Desk, kind: str, relative: bool, home: str, started: list[Engine]) -> Engine:
    if kind == "headless":
        process = subprocess.Popen(
            _command(desk, kind, relative), cwd=desk.root / "desk", env=desk.env(home),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        engine = Engine(kind, process=process)
        started.append(engine)
        assert process.stdout is not None
        for line in process.stdout:
            if " started " in line:
                break
        else:
            raise AssertionError(f"the headless engine ended: {process.stderr.read()}")  # type: ignore[union-attr]
        return engine
    tmux = _start_app(desk, relative, home)
    engine = Engine(kind, tmux=tmux)
    started.append(engine)
    _wait_for(lambda: "feed live" in tmux.screen(), "the app's engine streaming", 60, tmux)
    return engine


def _second_is_refused(desk: Desk, kind: str, relative: bool, home: str) -> str:
    """The second engine's one line on stderr, after checking it exited with status 2."""
    if kind == "headless":
        done = subprocess.run(
            _command(desk, kind, relative), cwd=desk.root / "desk", env=desk.env(home),
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 2, done
        return done.stderr
    tmux = _start_app(desk, relative, home)
    try:
        _wait_for(lambda: tmux.exit_status.exists()
                  and tmux.exit_status.read_text().strip() != "", "the second app to exit", 60, tmux)
        assert tmux.exit_status.read_text().strip() == "2", tmux.screen()
        return tmux.run("capture-pane", "-p", "-J", "-t", tmux.session)
    finally:
        tmux.run("kill-server")


@pytest.mark.parametrize(
    ("first", "second"),
    [("app", "headless"), ("headless", "app"), ("headless", "headless"), ("app", "app")],
)
@pytest.mark.parametrize("first_relative", [True, False], ids=["relative-first", "absolute-first"])
def test_exactly_one_engine_trades_the_account(
    desk: Desk, first: str, second: str, first_relative: bool,
) -> None:
    started: list[Engine] = []
    try:
        holder = _first(desk, first, first_relative, "home-a", started)
        refusal = _second_is_refused(desk, second, not first_relative, "home-b")
        lines = refusal.strip().splitlines()
        assert len(lines) == 1, refusal
        assert "another densitytui engine (pid" in lines[0]
        assert f"already trades venue sim on {desk.database}" in lines[0]
        holder.stop()
        started.clear()
    finally:
        for engine in started:
            if engine.process is not None:
                engine.process.kill()
                engine.process.wait()
            if engine.tmux is not None:
                engine.tmux.run("kill-server")
    assert desk.started_events() == 1
