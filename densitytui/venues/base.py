"""The one interface the engine uses for every venue: public market data and one trading account.

Market data arrives as raw Bybit v5 public frames (bytes), whatever the venue, so the market
engine decodes a simulated market, a replay and the live stream through the same code. Trading
calls raise typed errors that carry Bybit's retCode and message where one applies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from densitytui.model import (
    Balance,
    Fill,
    Instrument,
    Kline,
    MarginMode,
    Order,
    OrderRequest,
    Position,
    Ticker,
    Trade,
)

# Bybit retCodes that the engine and the paper broker name (../shared/bybit/PROTOCOL.md).
RET_OK = 0
RET_PARAMETER_ERROR = 10001
RET_TIMESTAMP_OUT_OF_WINDOW = 10002
RET_INVALID_KEY = 10003
RET_BAD_SIGNATURE = 10004
RET_RATE_LIMITED = 10006
RET_SERVER_ERROR = 10016
RET_INSUFFICIENT_BALANCE = 110007
RET_QTY_ROUNDS_TO_ZERO = 110017
RET_LEVERAGE_NOT_MODIFIED = 110043
RET_DUPLICATE_ORDER_LINK_ID = 110072
RET_NOTIONAL_BELOW_MIN = 110094
RET_TPSL_NOT_MODIFIED = 34040


class ExchangeError(Exception):
    """A venue refused or failed a request; `ret_code` is Bybit's when the venue gave one."""

    def __init__(self, message: str, ret_code: int | None = None) -> None:
        super().__init__(f"{message} (retCode {ret_code})" if ret_code is not None else message)
        self.ret_code = ret_code
        self.ret_msg = message


class OrderRejected(ExchangeError):
    """The venue answered and said no: nothing was placed."""


class RateLimited(ExchangeError):
    """Too many requests (retCode 10006 or HTTP 403); back off before the next one."""


class AuthenticationFailed(ExchangeError):
    """Bad key, bad signature or a clock outside the receive window."""


class OutcomeUnknown(ExchangeError):
    """The request was sent but no answer came: ask for its `orderLinkId`, never send it again."""


class VenueUnavailable(ExchangeError):
    """The venue could not be reached; nothing is known to have happened."""


AccountUpdate = Order | Fill | Position
"""What the private stream reports: an order changed, a fill happened, a position changed
(a position with `qty == 0` is flat)."""


class MarketData(ABC):
    """Public data of one venue."""

    connections: int = 0
    """How many times the stream has connected. When it grows while `messages()` is read, the
    frames that follow come from a new connection: every book starts again from the snapshot
    of its new subscription. A feed without connections (simulated, replayed) keeps 0."""

    @abstractmethod
    async def instruments(self) -> list[Instrument]:
        """Every listed linear instrument, paged to the end; callers filter with `tradable`."""

    @abstractmethod
    async def tickers(self) -> list[Ticker]:
        """24 h statistics of every linear symbol, for movers."""

    @abstractmethod
    async def klines(self, symbol: str, interval_min: int, limit: int) -> list[Kline]:
        """Recent candles, oldest first, to seed local highs and lows; empty when unsupported."""

    @abstractmethod
    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Start the order book, trade and ticker streams of these symbols."""

    @abstractmethod
    async def unsubscribe(self, symbols: Sequence[str]) -> None:
        """Stop the streams of these symbols."""

    @abstractmethod
    def messages(self) -> AsyncIterator[bytes]:
        """Raw Bybit v5 public frames of every subscribed stream, in arrival order."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and tasks; the object is unusable afterwards."""

    async def runs(self) -> AsyncIterator[Iterable[bytes]]:
        """The frames in runs, each read without an await: a feed that has many at hand (a
        replay) hands them out without an await per frame. By default, runs of one frame."""
        async for frame in self.messages():
            yield (frame,)

    async def resync(self, symbols: Sequence[str]) -> None:
        """Heal the books of `symbols` from a fresh snapshot: by default resubscribe them."""
        await self.unsubscribe(symbols)
        await self.subscribe(symbols)

    @property
    def problem(self) -> str | None:
        """What is wrong with the feed, in one line; None when nothing is."""
        return None

    @property
    def stale(self) -> bool:
        """The stream has gone quiet (no message or pong for too long)."""
        return False


class Exchange(ABC):
    """One trading account on one venue."""

    name: str

    @abstractmethod
    async def place_order(self, request: OrderRequest) -> Order:
        """Send a market order (with its attached stop-loss) or a reduce-only close.

        Returns the order as the venue acknowledged it. Raises `OrderRejected` with Bybit's code,
        or `OutcomeUnknown` when the answer did not come.
        """

    @abstractmethod
    async def set_stop_loss(self, symbol: str, stop_loss: float | None) -> None:
        """Set or move the position's stop-loss on the exchange; None removes it."""

    @abstractmethod
    async def cancel_all(self) -> list[str]:
        """Cancel every open order in scope; returns the `orderLinkId`s cancelled."""

    @abstractmethod
    async def positions(self) -> list[Position]:
        """Open positions as the venue sees them."""

    @abstractmethod
    async def open_orders(self) -> list[Order]:
        """Orders still working."""

    @abstractmethod
    async def balance(self) -> Balance:
        """USDT equity and available balance."""

    @abstractmethod
    async def order_by_link_id(self, symbol: str, order_link_id: str) -> Order | None:
        """The order with this `orderLinkId`, open or recently closed; None when never placed."""

    @abstractmethod
    async def set_leverage(self, symbol: str, leverage: float) -> None:
        """Set leverage for `symbol`; an unchanged value is success."""

    @abstractmethod
    async def margin_mode(self) -> MarginMode:
        """The account's margin mode; the engine refuses to trade unless it is isolated."""

    @abstractmethod
    async def set_margin_mode(self, mode: MarginMode) -> None:
        """Set the account's margin mode (account-wide on unified accounts): only on an explicit
        request, never silently; an unchanged mode is success."""

    @abstractmethod
    def updates(self) -> AsyncIterator[AccountUpdate]:
        """Private stream: order changes, fills and position changes, in order."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and tasks; the object is unusable afterwards."""

    @property
    def problem(self) -> str | None:
        """What is wrong with the account's link, in one line (a ban, a refused key); None
        when nothing is."""
        return None


@dataclass(frozen=True, slots=True)
class Venue:
    """What the engine runs on: a market data source and an account."""

    name: str
    market: MarketData
    exchange: Exchange


class SimulatedAccount(Exchange):
    """An account simulated here (the paper account, or one behind a wrapper): the public
    stream feeds it (trades fill its stops, marks judge its liquidations, tickers carry its
    funding rate), its updates wait in a queue until the engine takes them, and the engine
    keeps its balance and positions in the store. The engine checks for it once, at start."""

    @abstractmethod
    def on_trade(self, trade: Trade) -> None:
        """A public trade: stops it crosses trigger and fill from the book."""

    @abstractmethod
    def on_prices(self, symbol: str, prices: Sequence[float]) -> None:
        """The prices of one trade message in order, as `on_trade` of each (no `Trade`
        objects made: a replay feeds every trade)."""

    @abstractmethod
    def on_mark(self, symbol: str, mark_price: float, ts: int) -> None:
        """The venue's mark price of `symbol` (liquidations are judged on it)."""

    @abstractmethod
    def on_funding_rate(self, symbol: str, rate_pct: float, ts: int) -> None:
        """The funding rate the tickers carry (`fundingRate`, in %)."""

    @property
    @abstractmethod
    def pending_updates(self) -> int:
        """Updates published and not yet taken from `updates` (a fed trade needs the engine
        to settle only when it queued one)."""

    @abstractmethod
    def export_state(self) -> Any:
        """Balance and positions, for the store."""

    @abstractmethod
    def restore_state(self, state: Any) -> None:
        """Take back what `export_state` gave; ValueError when it cannot."""

