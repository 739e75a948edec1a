"""Fixtures: a fake Bybit on loopback and our Bybit venue parts pointed at it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from fake_bybit import FakeBybit
from venue_helpers import KEY, SECRET, rest_client

from densitytui.credentials import Credentials
from densitytui.venues.bybit import BybitExchange, BybitMarketData, PrivateStream, RestClient


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with FakeBybit(["BTCUSDT", "ETHUSDT"], api_key=KEY, api_secret=SECRET) as exchange:
        yield exchange


@pytest.fixture
async def exchange(fake: FakeBybit) -> AsyncIterator[BybitExchange]:
    private = PrivateStream(
        fake.private_ws_url, Credentials(KEY, SECRET), venue="testnet",
        ping_interval_s=0.5, reconnect_min_s=0.05, reconnect_max_s=0.2, rng=random.Random(3),
    )
    venue = BybitExchange("testnet", rest_client(fake), private)
    yield venue
    await venue.close()


@pytest.fixture
async def market(fake: FakeBybit) -> AsyncIterator[BybitMarketData]:
    data = BybitMarketData(
        RestClient(fake.rest_url, None, threads=1), fake.public_ws_url,
        ping_interval_s=0.5, subscribe_batch=2, stale_after_s=5.0,
        reconnect_min_s=0.05, reconnect_max_s=0.2, rng=random.Random(5),
    )
    yield data
    await data.close()
