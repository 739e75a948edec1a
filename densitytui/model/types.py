"""Plain value types shared by every layer.

They are slotted dataclasses rather than pydantic models: the market layer creates them on
the hot path, where validation would cost more than the work itself. Prices and sizes are
floats; the order book keeps the exchange's strings where they must be reproduced exactly.
Times are integer milliseconds since the epoch (the unit of every Bybit timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Side(StrEnum):
    """Order or taker side, spelled as Bybit spells it."""

    BUY = "Buy"
    SELL = "Sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 for a long (Buy), -1 for a short (Sell): multiplies price moves into PnL."""
        return 1 if self is Side.BUY else -1


class BookSide(StrEnum):
    """A side of the order book: bids rest below the price, asks above."""

    BID = "bid"
    ASK = "ask"

    @property
    def opposite(self) -> BookSide:
        return BookSide.ASK if self is BookSide.BID else BookSide.BID


class Trend(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    FLAT = "FLAT"


class SignalKind(StrEnum):
    BREAKOUT = "breakout"
    BOUNCE = "bounce"


class TradingMode(StrEnum):
    """How signals become orders: never, after one keypress, or alone."""

    MANUAL = "manual"
    SEMI = "semi"
    AUTO = "auto"


class DensityEventKind(StrEnum):
    APPEARED = "appeared"
    CONFIRMED = "confirmed"
    CHANGED = "changed"
    GONE = "gone"


class DensityOutcome(StrEnum):
    """How a density ended: traded through, cancelled (a spoof if mostly pulled), or still there."""

    EATEN = "eaten"
    PULLED = "pulled"
    SPOOF = "spoof"
    HELD = "held"
    OUT_OF_RANGE = "out_of_range"
    # The threshold rose (auto mode follows turnover) above a density that had lost nothing.
    FADED = "faded"


class OrderStatus(StrEnum):
    """Bybit's `orderStatus` values that a market order or a close can take."""

    CREATED = "Created"
    NEW = "New"
    PARTIALLY_FILLED = "PartiallyFilled"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    # A market order that filled part of its qty; the rest was cancelled (no more liquidity).
    PARTIALLY_FILLED_CANCELED = "PartiallyFilledCanceled"
    # A stop-loss waiting for its trigger price.
    UNTRIGGERED = "Untriggered"
    REJECTED = "Rejected"
    # Ours: sent, but the answer never came; resolved by asking for the orderLinkId.
    UNKNOWN = "Unknown"


class OrderType(StrEnum):
    MARKET = "Market"
    LIMIT = "Limit"


class MarginMode(StrEnum):
    """Bybit's account-wide `marginMode` on unified accounts."""

    ISOLATED = "ISOLATED_MARGIN"
    REGULAR = "REGULAR_MARGIN"
    PORTFOLIO = "PORTFOLIO_MARGIN"


@dataclass(slots=True, frozen=True)
class Instrument:
    """Trading rules of one contract, from `instruments-info`."""

    symbol: str
    tick_size: float
    qty_step: float
    min_qty: float
    min_notional: float
    max_market_qty: float
    status: str = "Trading"
    contract_type: str = "LinearPerpetual"
    settle_coin: str = "USDT"
    max_leverage: float = 100.0

    @property
    def tradable(self) -> bool:
        """A USDT linear perpetual that is open for trading: the only kind densitytui trades."""
        return (
            self.status == "Trading"
            and self.contract_type == "LinearPerpetual"
            and self.settle_coin == "USDT"
        )


@dataclass(slots=True)
class Ticker:
    """24 h statistics of one symbol; ticker deltas update it in place."""

    symbol: str
    last_price: float
    change_24h_pct: float
    turnover_24h: float
    volume_24h: float = 0.0
    high_24h: float = 0.0
    low_24h: float = 0.0
    ts: int = 0
    # Bybit's mark price: liquidations (and a paper account's) are judged on it. 0 when unknown.
    mark_price: float = 0.0
    # Bybit's funding rate for the next funding time, in % (a long pays a positive one).
    funding_rate_pct: float = 0.0


@dataclass(slots=True, frozen=True)
class Trade:
    """One public trade; `taker_side` is the aggressor."""

    symbol: str
    ts: int
    price: float
    size: float
    taker_side: Side
    trade_id: str = ""


@dataclass(slots=True, frozen=True)
class Kline:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(slots=True)
class Density:
    """A tracked wall: a level or cluster on one side that passes the density criteria.

    Mutable because the tracker updates it on every book change; consumers that keep one
    beyond the current message take a `copy()`.
    """

    symbol: str
    side: BookSide
    price: float
    size: float
    peak_size: float
    first_seen: int
    last_seen: int
    confirmed_at: int | None = None
    eaten: float = 0.0
    pulled: float = 0.0
    levels: int = 1
    # Stable identity for its whole life (a cluster's weighted price moves); 0 before tracking.
    id: int = 0
    # First time a trade printed near it (within signals.bounce_max_distance_pct): "tested".
    tested_at: int | None = None
    # The range of its levels (a cluster's two edges; a single level's price twice). Stops go
    # beyond the outermost edge, never beyond the weighted price. 0.0 until the tracker sets them.
    price_low: float = 0.0
    price_high: float = 0.0
    # Its book is invalid (gap, crossed): not confirmed, not aged into signals until it heals.
    frozen: bool = False

    @property
    def notional(self) -> float:
        return self.price * self.size

    @property
    def erosion(self) -> float:
        return 1.0 - self.size / self.peak_size if self.peak_size > 0 else 0.0

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def copy(self) -> Density:
        return Density(
            self.symbol, self.side, self.price, self.size, self.peak_size, self.first_seen,
            self.last_seen, self.confirmed_at, self.eaten, self.pulled, self.levels, self.id,
            self.tested_at, self.price_low, self.price_high, self.frozen,
        )


@dataclass(slots=True)
class DensityEvent:
    """A lifecycle step of a density, stamped with the time of the message that caused it.

    Not frozen: the tracker makes thousands a minute, and a frozen dataclass costs twice as
    much to build. Treat it as a value all the same."""

    kind: DensityEventKind
    density: Density
    ts: int
    outcome: DensityOutcome | None = None


@dataclass(slots=True, frozen=True)
class Signal:
    """A proposed entry and the density behind it."""

    id: str
    symbol: str
    kind: SignalKind
    side: Side
    entry_price: float
    stop_loss: float
    density_side: BookSide
    density_price: float
    created_at: int
    ttl_ms: int
    reasons: tuple[str, ...] = ()
    new_territory: bool = False
    # The tracker's id of the density behind it (0 when unknown, e.g. read back from an old row).
    density_id: int = 0


FINAL_ORDER_STATUSES = frozenset({
    OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.PARTIALLY_FILLED_CANCELED,
    OrderStatus.REJECTED,
})

_STATUS_RANK = {
    OrderStatus.CREATED: 0,
    OrderStatus.UNKNOWN: 1,
    OrderStatus.NEW: 2,
    OrderStatus.UNTRIGGERED: 2,
    OrderStatus.PARTIALLY_FILLED: 3,
}


def order_status_rank(status: OrderStatus) -> int:
    """How far an order has come: a status never moves back to a lower rank (a late `New`
    after `Filled` is stale news), and a final status never changes."""
    return _STATUS_RANK.get(status, 4)


@dataclass(slots=True, frozen=True)
class CheckOutcome:
    """One entry check's result as stored with its decision: name, pass/fail, the numbers."""

    name: str
    passed: bool
    detail: str


@dataclass(slots=True, frozen=True)
class Decision:
    """What the engine did with a signal (entered, refused, rejected, expired...) and why."""

    signal_id: str
    ts: int
    outcome: str
    qty: float = 0.0
    checks: tuple[CheckOutcome, ...] = ()
    id: int | None = None


@dataclass(slots=True, frozen=True)
class OrderRequest:
    """What the engine asks a venue to do; the `order_link_id` is made and stored before sending."""

    order_link_id: str
    symbol: str
    side: Side
    qty: float
    order_type: OrderType = OrderType.MARKET
    price: float | None = None
    stop_loss: float | None = None
    reduce_only: bool = False


@dataclass(slots=True)
class Order:
    """An order as the venue reports it."""

    order_link_id: str
    symbol: str
    side: Side
    qty: float
    order_type: OrderType
    status: OrderStatus
    created_at: int
    order_id: str = ""
    price: float | None = None
    stop_loss: float | None = None
    reduce_only: bool = False
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fee: float = 0.0
    reject_code: int | None = None
    reject_reason: str = ""
    updated_at: int = 0


@dataclass(slots=True, frozen=True)
class Fill:
    """One execution of an order."""

    exec_id: str
    order_link_id: str
    symbol: str
    side: Side
    price: float
    qty: float
    fee: float
    ts: int
    is_maker: bool = False


@dataclass(slots=True)
class Position:
    """An open (or, once `closed_at` is set, closed) position in one symbol."""

    symbol: str
    side: Side
    qty: float
    entry_price: float
    opened_at: int
    venue: str
    stop_loss: float | None = None
    take_profit: float | None = None
    leverage: float = 10.0
    mark_price: float = 0.0
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    closed_at: int | None = None
    exit_reason: str = ""
    signal_id: str = ""
    id: int | None = None
    exit_price: float | None = None

    @property
    def protected(self) -> bool:
        """Open with a stop-loss on the exchange."""
        return self.stop_loss is not None and self.stop_loss > 0


class PositionEventKind(StrEnum):
    """What changed in a stored position."""

    OPENED = "opened"
    STOP_LOSS_SET = "stop_loss_set"
    STOP_LOSS_MOVED = "stop_loss_moved"
    STOP_LOSS_REMOVED = "stop_loss_removed"
    TAKE_PROFIT_SET = "take_profit_set"
    QTY_CHANGED = "qty_changed"
    CLOSED = "closed"


@dataclass(slots=True, frozen=True)
class PositionEvent:
    """One change of a stored position, kept with its time so its history can be replayed."""

    position_id: int
    kind: PositionEventKind
    ts: int
    old_value: float | None = None
    new_value: float | None = None
    note: str = ""
    id: int | None = None


@dataclass(slots=True, frozen=True)
class Balance:
    """USDT account figures: equity includes unrealized PnL; available is free for new margin."""

    equity: float
    available: float
    wallet: float
    unrealized_pnl: float = 0.0
    position_margin: float = 0.0


@dataclass(slots=True, frozen=True)
class AppEvent:
    """An audit-log entry: something the trader should be able to find later."""

    ts: int
    kind: str
    message: str
    symbol: str = ""
    data: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class MarketStats:
    """A sample of one symbol's market state, kept as history for the movers view and backtests.

    `book_pressure` is bid volume over ask volume near the mid price (DESIGN §3).
    """

    symbol: str
    ts: int
    last_price: float
    change_24h_pct: float
    turnover_24h: float
    trend: Trend = Trend.FLAT
    book_pressure: float = 1.0
    volume_24h: float = 0.0


@dataclass(slots=True, frozen=True)
class CoinParameters:
    """Per-symbol trading rules and the thresholds chosen for the symbol, kept across restarts."""

    instrument: Instrument
    min_density_notional_usdt: float
    updated_at: int
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return self.instrument.symbol
