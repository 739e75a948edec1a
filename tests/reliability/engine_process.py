"""The headless engine as a process of its own, trading a local fake Bybit the test runs.

The fake lives in the test's event loop; the engine is `densitytui run --headless` on venue
`testnet` (or `live`) with every endpoint pointed at the fake by its config file, keys from the
environment or a secrets file. Reliability tests kill, restart and inspect it from outside, as a
trader's machine would.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_bybit import FakeBybit
from invariants import open_orders_left

EXECUTABLE = Path(sys.executable).parent / "densitytui"
SYMBOLS = ["ETHUSDT", "SOLUSDT", "XRPUSDT", "LTCUSDT", "DOGEUSDT"]
# The upper bound of every wait for the engine (it only bounds a failure, it decides nothing).
WAIT_S = 60.0
# The fake's market runs this many times faster than real time: the first entries come about
# two seconds after the engine starts instead of twenty.
FAST = 10.0

CONFIG = """\
[app]
venue = "{venue}"
mode = "{mode}"
[storage]
url = "sqlite:///{db}"
[logging]
file = "{log}"
level = "{level}"
[engine]
order_timeout_s = 3.0
order_lookup_interval_s = 0.05
{engine}
[bybit]
{network}_rest = "{rest}"
{network}_public_ws = "{public}"
{network}_private_ws = "{private}"
{bybit}
{extra}
"""


@dataclass(frozen=True)
class Desk:
    """One session's files: config, database and log in `root`, and the environment."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def db(self) -> Path:
        return self.root / "engine.db"

    @property
    def log(self) -> Path:
        return self.root / "engine.log"

    def write_config(
        self, fake: FakeBybit, *, venue: str = "testnet", mode: str = "auto",
        level: str = "INFO", engine: str = "", bybit: str = "", extra: str = "",
    ) -> Path:
        """The session's config: `engine` and `bybit` lines go in their tables, `extra`
        tables at the end."""
        network = "mainnet" if venue == "live" else "testnet"
        self.config.write_text(CONFIG.format(
            venue=venue, mode=mode, db=self.db, log=self.log, level=level, engine=engine,
            network=network, rest=fake.rest_url, public=fake.public_ws_url,
            private=fake.private_ws_url, bybit=bybit, extra=extra,
        ))
        return self.config

    def env(self, **extra: str) -> dict[str, str]:
        """The test's environment without any Bybit keys, user dirs inside `root`."""
        env = {
            k: v for k, v in os.environ.items()
            if k not in ("BYBIT_API_KEY", "BYBIT_API_SECRET", "DENSITYTUI_SECRETS_FILE")
        }
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            env[name] = str(self.root / name.lower())
        env.update(extra)
        return env

    def files(self) -> list[Path]:
        """Every file the session wrote: database (with its WAL and shared memory), logs."""
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p != self.config)


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def start_headless(
    desk: Desk, env: dict[str, str], *args: str, stdin: bool = False,
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(EXECUTABLE), "--config", str(desk.config), *args,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=desk.root,
    )


async def run_headless(
    desk: Desk, env: dict[str, str], *args: str, typed: str | None = None,
    timeout: float = 120.0,
) -> Finished:
    """Run `densitytui --config CONFIG ARGS...` to its end (`typed` goes to its stdin)."""
    process = await start_headless(desk, env, *args, stdin=typed is not None)
    data = typed.encode() if typed is not None else None
    try:
        out, err = await asyncio.wait_for(process.communicate(data), timeout)
    finally:
        # A run that never ends (a gate that let it start) must not outlive the test.
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


async def line_with(process: asyncio.subprocess.Process, word: str) -> str:
    """Read the engine's output until a line holding `word`; fail if it ends first."""
    stdout = process.stdout
    assert stdout is not None

    async def read() -> str:
        while line := (await stdout.readline()).decode():
            if word in line:
                return line
        err = (await process.stderr.read()).decode() if process.stderr else ""
        pytest.fail(f"the engine ended before {word.strip()!r}: {err[-2000:]}")

    return await asyncio.wait_for(read(), WAIT_S)


async def drain(process: asyncio.subprocess.Process) -> None:
    """Keep reading the engine's output, so a full pipe never blocks it."""
    assert process.stdout is not None
    while await process.stdout.readline():
        pass


async def settled(db: Path) -> None:
    """Until no stored order waits for its outcome (the deadline only bounds a failure: the
    invariants then name the orders left)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + WAIT_S
    while open_orders_left(db):
        if loop.time() > end:
            return
        await asyncio.sleep(0.05)
