"""`venue_problem`: the one line a run command prints (exit 2) when the venue cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from densitytui.config import Config
from densitytui.venues.factory import bybit_endpoints, venue_problem


def _config(venue: str) -> Config:
    return Config.model_validate({"app": {"venue": venue}})


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BYBIT_API_KEY", "BYBIT_API_SECRET", "DENSITYTUI_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("venue", ["sim", "replay", "paper"])
def test_venues_without_an_account_need_no_keys(venue: str) -> None:
    assert venue_problem(_config(venue), live_flag=False) is None


@pytest.mark.parametrize("venue", ["demo", "testnet"])
def test_keyed_venue_without_keys_names_both_ways_to_give_them(venue: str) -> None:
    problem = venue_problem(_config(venue), live_flag=False)
    assert problem is not None and "\n" not in problem
    for name in ("BYBIT_API_KEY", "BYBIT_API_SECRET", "DENSITYTUI_SECRETS_FILE", venue):
        assert name in problem


def test_keys_from_the_environment_are_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", "k")
    monkeypatch.setenv("BYBIT_API_SECRET", "s")
    assert venue_problem(_config("testnet"), live_flag=False) is None


def test_live_needs_the_flag_even_with_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYBIT_API_KEY", "k")
    monkeypatch.setenv("BYBIT_API_SECRET", "s")
    problem = venue_problem(_config("live"), live_flag=False)
    assert problem is not None and "--i-understand-live" in problem
    assert venue_problem(_config("live"), live_flag=True) is None


def test_a_secrets_file_others_can_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "keys.env"
    path.write_text("BYBIT_API_KEY=k\nBYBIT_API_SECRET=s\n")
    path.chmod(0o644)
    monkeypatch.setenv("DENSITYTUI_SECRETS_FILE", str(path))
    problem = venue_problem(_config("demo"), live_flag=False)
    assert problem is not None and "chmod 600" in problem
    path.chmod(0o600)
    assert venue_problem(_config("demo"), live_flag=False) is None


def test_demo_watches_mainnet_data_and_trades_on_its_own_hosts() -> None:
    bybit = Config().bybit
    demo = bybit_endpoints(bybit, "demo")
    assert (demo.rest, demo.public_ws) == (bybit.mainnet_rest, bybit.mainnet_public_ws)
    assert (demo.account_rest, demo.private_ws) == (bybit.demo_rest, bybit.demo_private_ws)
    testnet = bybit_endpoints(bybit, "testnet")
    assert {testnet.rest, testnet.account_rest} == {bybit.testnet_rest}
    with pytest.raises(ValueError, match="not a Bybit venue"):
        bybit_endpoints(bybit, "sim")
