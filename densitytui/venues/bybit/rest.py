"""Bybit REST through pybit: synchronous calls in worker threads, one HTTP session per thread.

pybit's own retries are switched off (a retried order could be a duplicate, and its 10006 retry
sleeps inside the worker thread): this client decides. Errors become the typed errors of
`densitytui.venues.base`:

- a business retCode → `OrderRejected` (with the code); 10003/10004 (bad key or signature) →
  `AuthenticationFailed`, remembered so no later call is sent (one clear message, no retry
  storm); 10002 (clock outside the receive window) → `AuthenticationFailed`, not remembered;
- 10006 → wait until the reset time in the answer's headers and try again, up to
  `rate_limit_max_wait_s` in all, then `RateLimited`; 10006 means nothing was done, so trying
  again never duplicates. While a longer block lasts, calls to that endpoint are refused with
  `RateLimited` without being sent;
- HTTP 403 → `RateLimited`, and REST stops for the ban period (`problem` says until when);
- no connection → `VenueUnavailable`; a request that was sent but got no answer (timeout,
  connection dropped, 10016 or an HTTP error on an order) → `OutcomeUnknown` when it placed an
  order, else `VenueUnavailable`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from densitytui.credentials import Credentials
from densitytui.venues.base import (
    RET_BAD_SIGNATURE,
    RET_INVALID_KEY,
    RET_LEVERAGE_NOT_MODIFIED,
    RET_RATE_LIMITED,
    RET_SERVER_ERROR,
    RET_TIMESTAMP_OUT_OF_WINDOW,
    RET_TPSL_NOT_MODIFIED,
    AuthenticationFailed,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueUnavailable,
)
from densitytui.venues.bybit.ratelimit import Banned, Blocked, Clock, RateLimiter, Sleep

# "Not modified" answers that mean the wanted state already holds (PROTOCOL.md).
NOT_MODIFIED = {RET_LEVERAGE_NOT_MODIFIED, RET_TPSL_NOT_MODIFIED}
LIMIT_RESET_HEADER = "X-Bapi-Limit-Reset-Timestamp"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# pybit method → request path, for the rate limiter.
PATHS = {
    "get_instruments_info": "/v5/market/instruments-info",
    "get_tickers": "/v5/market/tickers",
    "get_kline": "/v5/market/kline",
    "get_orderbook": "/v5/market/orderbook",
    "get_server_time": "/v5/market/time",
    "place_order": "/v5/order/create",
    "get_open_orders": "/v5/order/realtime",
    "get_order_history": "/v5/order/history",
    "cancel_all_orders": "/v5/order/cancel-all",
    "set_trading_stop": "/v5/position/trading-stop",
    "get_positions": "/v5/position/list",
    "set_leverage": "/v5/position/set-leverage",
    "get_wallet_balance": "/v5/account/wallet-balance",
    "get_account_info": "/v5/account/info",
    "set_margin_mode": "/v5/account/set-margin-mode",
}


class Unreadable(Exception):
    """An answer came, but not in Bybit's envelope (pybit could not read it)."""


class RestClient:
    """Signed (or public) Bybit REST calls from asyncio."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None,
        *,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        threads: int = 4,
        rate_limit_max_wait_s: float = 10.0,
        limiter: RateLimiter | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._recv_window = recv_window_ms
        self._timeout = timeout_s
        self._max_wait = rate_limit_max_wait_s
        self._clock = clock
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(clock=clock, sleep=sleep)
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="bybit-rest")
        self._local = threading.local()
        self._sessions: list[HTTP] = []
        self._lock = threading.Lock()
        self.auth_failure: str | None = None

    @property
    def problem(self) -> str | None:
        """Why REST is not usable now, for the screen; None while it is."""
        if self.auth_failure:
            return self.auth_failure
        if self.limiter.banned():
            return str(Banned(self.limiter.banned_until))
        return None

    def _session(self) -> HTTP:
        session: HTTP | None = getattr(self._local, "session", None)
        if session is None:
            key = self._credentials.api_key if self._credentials else None
            secret = self._credentials.api_secret if self._credentials else None
            session = HTTP(
                api_key=key,
                api_secret=secret,
                recv_window=self._recv_window,
                timeout=self._timeout,
                max_retries=1,
                ignore_codes=set(NOT_MODIFIED),
                return_response_headers=True,
            )
            session.endpoint = self.base_url
            session.retry_codes = set()
            # A proxy from the environment must not capture a loopback endpoint (tests, tunnels).
            session.client.trust_env = urlsplit(self.base_url).hostname not in LOOPBACK
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _call_in_thread(self, method: str, params: dict[str, Any]) -> Mapping[str, Any]:
        try:
            answer, _elapsed, _headers = getattr(self._session(), method)(**params)
        except (TypeError, KeyError, AttributeError, IndexError) as exc:
            # pybit reads the envelope without checking its shape: a JSON list, null, or a
            # retCode that is not a number break it inside.
            raise Unreadable(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(answer, Mapping) or type(answer.get("retCode")) is not int:
            raise Unreadable("not a Bybit envelope")
        result: Mapping[str, Any] = answer
        return result

    async def call(
        self, method: str, *, places_order: bool = False, **params: Any,
    ) -> Mapping[str, Any]:
        """Call pybit's `method` with `params`; the whole answer envelope, or a typed error."""
        if self.auth_failure:
            raise AuthenticationFailed(self.auth_failure)
        path = PATHS[method]
        deadline = self._clock() + self._max_wait
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.limiter.acquire(path, deadline - self._clock())
            except Banned as exc:
                raise RateLimited(str(exc)) from None
            except Blocked as exc:
                raise RateLimited(str(exc), RET_RATE_LIMITED) from None
            try:
                return await loop.run_in_executor(
                    self._executor, self._call_in_thread, method, dict(params),
                )
            except InvalidRequestError as exc:
                code = exc.status_code
                if type(code) is not int:
                    raise self._unreadable(path, f"retCode {code!r}", places_order) from None
                if code != RET_RATE_LIMITED:
                    message = self._mask(str(exc.message))
                    raise self._business_error(code, message, places_order) from None
                wait = self.limiter.block(path, _reset_ms(exc.resp_headers))
                if self._clock() + wait > deadline:
                    raise RateLimited(
                        f"{path}: rate limit (10006) resets in {wait:.1f} s", RET_RATE_LIMITED,
                    ) from None
            except FailedRequestError as exc:
                raise self._http_error(path, int(exc.status_code), places_order) from None
            except Unreadable as exc:
                raise self._unreadable(path, str(exc), places_order) from None
            except requests.exceptions.ConnectionError as exc:
                if _never_sent(exc) or not places_order:
                    raise VenueUnavailable(f"{path}: cannot reach {self.base_url}: {exc}") from None
                raise OutcomeUnknown(f"{path}: the connection dropped before the answer") from None
            except requests.exceptions.Timeout:
                if places_order:
                    raise OutcomeUnknown(
                        f"{path}: no answer within {self._timeout:g} s",
                    ) from None
                raise VenueUnavailable(f"{path}: no answer within {self._timeout:g} s") from None

    def _unreadable(self, path: str, what: str, places_order: bool) -> Exception:
        """An answer not in Bybit's envelope. An order's request was sent: the answer we cannot
        read may say it was placed, so its outcome is unknown."""
        message = f"{path}: an answer that is not Bybit's ({self._mask(what)})"
        return OutcomeUnknown(message) if places_order else VenueUnavailable(message)

    def _mask(self, text: str) -> str:
        return self._credentials.mask(text) if self._credentials else text

    def _business_error(self, code: int, message: str, places_order: bool) -> Exception:
        if code in (RET_INVALID_KEY, RET_BAD_SIGNATURE):
            self.auth_failure = (
                f"Bybit refused the API key (retCode {code}: {message}); check BYBIT_API_KEY and "
                "BYBIT_API_SECRET for this network. No further requests are sent."
            )
            return AuthenticationFailed(self.auth_failure, code)
        if code == RET_TIMESTAMP_OUT_OF_WINDOW:
            return AuthenticationFailed(
                f"the request's time is outside Bybit's receive window; is the clock right? "
                f"({message})", code,
            )
        if code == RET_SERVER_ERROR:
            cls = OutcomeUnknown if places_order else VenueUnavailable
            return cls(message, code)
        return OrderRejected(message, code)

    def _http_error(self, path: str, status: int, places_order: bool) -> Exception:
        if status == 403:
            self.limiter.ban()
            return RateLimited(str(Banned(self.limiter.banned_until)))
        message = f"{path}: HTTP {status}" if status != 409 else f"{path}: the answer was not JSON"
        return OutcomeUnknown(message) if places_order else VenueUnavailable(message)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for session in self._sessions:
                session.client.close()
            self._sessions.clear()


def _reset_ms(headers: Mapping[str, str] | None) -> int | None:
    if not headers:
        return None
    value = headers.get(LIMIT_RESET_HEADER)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused or timed-out connect: the request never left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text
