"""The factory builds each Bybit venue from the config alone, pointed at the fake by endpoints."""

from __future__ import annotations

import pytest
from fake_bybit import FakeBybit
from venue_helpers import KEY, SECRET

from densitytui.config import Config
from densitytui.credentials import CredentialsError
from densitytui.venues.bybit import BybitExchange, BybitMarketData
from densitytui.venues.factory import bybit_venue
from densitytui.venues.paper import PaperBroker


def _config(venue: str, fake: FakeBybit) -> Config:
    urls = {"rest": fake.rest_url, "public_ws": fake.public_ws_url,
            "private_ws": fake.private_ws_url}
    bybit = {f"{net}_{kind}": url for net in ("mainnet", "testnet") for kind, url in urls.items()}
    return Config.model_validate({"app": {"venue": venue}, "bybit": bybit})


async def test_testnet_venue_trades_with_keys_from_the_environment(
    fake: FakeBybit, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)
    venue = await bybit_venue(_config("testnet", fake), lambda symbol: None)
    try:
        assert isinstance(venue.market, BybitMarketData)
        assert isinstance(venue.exchange, BybitExchange)
        assert (await venue.exchange.balance()).wallet == 1000.0
        assert {t.symbol for t in await venue.market.tickers()} == {"BTCUSDT", "ETHUSDT"}
    finally:
        await venue.market.close()
        await venue.exchange.close()


async def test_paper_venue_is_a_paper_account_on_public_data(fake: FakeBybit) -> None:
    venue = await bybit_venue(_config("paper", fake), lambda symbol: None)
    try:
        assert isinstance(venue.exchange, PaperBroker)
        assert (await venue.exchange.balance()).wallet == Config().paper.starting_balance_usdt
        assert fake.requests == [("GET", "/v5/market/instruments-info")]
    finally:
        await venue.market.close()
        await venue.exchange.close()


async def test_keyed_venue_without_keys_refuses(
    fake: FakeBybit, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("BYBIT_API_KEY", "BYBIT_API_SECRET", "DENSITYTUI_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CredentialsError, match="BYBIT_API_KEY"):
        await bybit_venue(_config("testnet", fake), lambda symbol: None)
