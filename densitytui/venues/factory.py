"""Wiring of ready-made venues: market data plus the account that trades on it."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from densitytui.config import BybitSection, Config
from densitytui.credentials import (
    ENV_FILE,
    ENV_KEY,
    ENV_SECRET,
    Credentials,
    CredentialsError,
    load_credentials,
)
from densitytui.venues.base import Venue
from densitytui.venues.bybit import BybitExchange, BybitMarketData, PrivateStream, RestClient
from densitytui.venues.bybit.ratelimit import RateLimiter
from densitytui.venues.paper import BookLookup, PaperBroker
from densitytui.venues.sim import SimMarket, SimMarketData
from densitytui.venues.sim.feed import Clock, Sleep


def sim_venue(
    config: Config,
    book_for: BookLookup,
    *,
    start_ms: int | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> Venue:
    """The default venue: the simulated market (seed, speed and symbols from the config) and a
    paper account on it.

    `book_for` gives the paper broker the books the market engine keeps from this venue's frames,
    and the engine passes each decoded trade to `venue.exchange.on_trade` so stops trigger. The
    account's clock is the market's virtual time. The market starts at `start_ms` (default: now),
    so the same seed plays the same market whatever the start, shifted in time.
    """
    market = SimMarket(
        config.app.seed,
        config.sim.symbols or None,
        start_ms=round(time.time() * 1000) if start_ms is None else start_ms,
    )
    data = SimMarketData(market, speed=config.sim.speed, clock=clock, sleep=sleep)
    broker = PaperBroker.from_config(config, market.instruments(), book_for, data.now_ms, "sim")
    return Venue("sim", data, broker)


# Venues that trade a Bybit account and so need its API keys.
KEYED_VENUES = ("demo", "testnet", "live")
BYBIT_VENUES = ("paper", *KEYED_VENUES)
LIVE_FLAG = "--i-understand-live"


@dataclass(frozen=True, slots=True)
class BybitEndpoints:
    """Where one Bybit venue's market data and account live."""

    rest: str
    public_ws: str
    account_rest: str
    private_ws: str


def bybit_endpoints(bybit: BybitSection, venue: str) -> BybitEndpoints:
    """`paper` and `demo` watch mainnet public data; demo trades on its own hosts."""
    if venue == "testnet":
        return BybitEndpoints(
            bybit.testnet_rest, bybit.testnet_public_ws, bybit.testnet_rest,
            bybit.testnet_private_ws,
        )
    if venue == "demo":
        return BybitEndpoints(
            bybit.mainnet_rest, bybit.mainnet_public_ws, bybit.demo_rest, bybit.demo_private_ws,
        )
    if venue in ("paper", "live"):
        return BybitEndpoints(
            bybit.mainnet_rest, bybit.mainnet_public_ws, bybit.mainnet_rest,
            bybit.mainnet_private_ws,
        )
    raise ValueError(f"{venue!r} is not a Bybit venue (one of {', '.join(BYBIT_VENUES)})")


def venue_problem(config: Config, *, live_flag: bool) -> str | None:
    """Why the configured venue cannot start, in one line; None when it can.

    Keys are loaded here, so a secrets file with loose permissions is refused at start."""
    venue = config.app.venue
    if venue == "live" and not live_flag:
        return (
            f"venue live trades real money on Bybit mainnet: start it with {LIVE_FLAG} "
            "(a typed confirmation follows)"
        )
    if venue not in KEYED_VENUES:
        return None
    try:
        credentials = load_credentials()
    except CredentialsError as exc:
        return f"venue {venue}: {exc}"
    if credentials is None:
        return (
            f"venue {venue} needs Bybit API keys: set {ENV_KEY} and {ENV_SECRET}, "
            f"or name a file holding them (mode 0600) in {ENV_FILE}"
        )
    return None


def _rest_client(
    bybit: BybitSection, url: str, credentials: Credentials | None, limiter: RateLimiter | None,
) -> RestClient:
    """A REST client of `url` tuned by `[bybit]` (signed when given credentials)."""
    return RestClient(
        url, credentials,
        recv_window_ms=bybit.recv_window_ms, timeout_s=bybit.rest_timeout_s,
        threads=bybit.rest_threads, rate_limit_max_wait_s=bybit.rate_limit_max_wait_s,
        limiter=limiter,
    )


def bybit_market_data(
    config: Config,
    venue: str,
    *,
    rng: random.Random | None = None,
    limiter: RateLimiter | None = None,
) -> BybitMarketData:
    """Public streams and market REST of a Bybit venue, tuned by `[bybit]`."""
    bybit = config.bybit
    endpoints = bybit_endpoints(bybit, venue)
    rest = _rest_client(bybit, endpoints.rest, None, limiter)
    return BybitMarketData(
        rest, endpoints.public_ws,
        depth=bybit.orderbook_depth,
        ping_interval_s=bybit.ping_interval_s,
        subscribe_batch=bybit.subscribe_batch,
        stale_after_s=config.risk.stale_data_s,
        reconnect_min_s=bybit.reconnect_min_s,
        reconnect_max_s=bybit.reconnect_max_s,
        rng=rng,
    )


def bybit_exchange(
    config: Config,
    venue: str,
    credentials: Credentials,
    *,
    rng: random.Random | None = None,
    limiter: RateLimiter | None = None,
) -> BybitExchange:
    """The Bybit account of a keyed venue: signed REST and the private stream."""
    bybit = config.bybit
    endpoints = bybit_endpoints(bybit, venue)
    rest = _rest_client(bybit, endpoints.account_rest, credentials, limiter)
    private = PrivateStream(
        endpoints.private_ws, credentials, venue=venue,
        ping_interval_s=bybit.ping_interval_s,
        reconnect_min_s=bybit.reconnect_min_s, reconnect_max_s=bybit.reconnect_max_s, rng=rng,
    )
    return BybitExchange(venue, rest, private)


async def bybit_venue(
    config: Config, book_for: BookLookup, *, rng: random.Random | None = None,
) -> Venue:
    """The configured Bybit venue (`paper`, `demo`, `testnet` or `live`).

    `paper` puts a paper account (balance and fee from `[paper]`) on Bybit's public data; its
    instruments are read first, which needs the network. The keyed venues load their keys
    through `densitytui.credentials`; call `venue_problem` first for a clear refusal. Market
    data and account share one rate limiter: Bybit's IP limit and bans cover both."""
    venue = config.app.venue
    limiter = RateLimiter()
    market = bybit_market_data(config, venue, rng=rng, limiter=limiter)
    if venue == "paper":
        try:
            instruments = [i for i in await market.instruments() if i.tradable]
        except BaseException:
            await market.close()
            raise
        broker = PaperBroker.from_config(
            config, instruments, book_for, lambda: int(time.time() * 1000), "paper",
        )
        return Venue("paper", market, broker)
    credentials = load_credentials()
    if credentials is None:
        await market.close()
        raise CredentialsError(venue_problem(config, live_flag=True) or "no API keys")
    exchange = bybit_exchange(config, venue, credentials, rng=rng, limiter=limiter)
    return Venue(venue, market, exchange)
