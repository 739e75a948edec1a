"""Helpers of the Bybit venue tests: loopback clients for the fake, and waiting for events."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fake_bybit import FakeBybit

from densitytui.credentials import Credentials
from densitytui.venues.bybit import BybitMarketData, RestClient

DOCS_EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "bybit" / "docs-examples"
KEY = "fake-key"
SECRET = "fake-secret"
# Generous for a loaded 2-core machine; only ever the upper bound of a wait for an event.
EVENTUALLY_S = 20.0


def rest_client(fake: FakeBybit, secret: str = SECRET, **options: Any) -> RestClient:
    """A signed REST client of the fake's account (`secret` wrong to test refusals)."""
    return RestClient(fake.rest_url, Credentials(KEY, secret), threads=2, **options)


async def eventually(
    condition: Callable[[], bool], what: str, timeout: float = EVENTUALLY_S,
) -> None:
    """Wait (polling the event loop) until `condition()` holds; fail naming `what`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def pump(
    market: BybitMarketData, on_frame: Callable[[bytes], object], until: Callable[[], bool],
    what: str, timeout: float = EVENTUALLY_S,
) -> None:
    """Feed the market's frames to `on_frame` until `until()` holds."""

    async def run() -> None:
        async for raw in market.messages():
            on_frame(raw)
            if until():
                return

    try:
        await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


def example(name: str) -> Any:
    """A docs example: parsed JSON for .json files, else text. Missing data fails the test with
    where it is expected, unless DENSITYTUI_NO_SHARED_DATA=1 (then it skips)."""
    path = DOCS_EXAMPLES / name
    if not path.exists():
        if os.environ.get("DENSITYTUI_NO_SHARED_DATA") == "1":
            pytest.skip(f"{path} is absent")
        pytest.fail(f"Bybit docs example {path} is missing: expected ../shared/bybit/docs-examples")
    return orjson.loads(path.read_bytes()) if name.endswith(".json") else path.read_text()
