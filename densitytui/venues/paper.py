"""`PaperBroker`: a Bybit-like USDT linear account that fills against whatever book it is shown.

It owns no market data: books come from `book_for(symbol)` (the market engine's live books, over
the simulated market, a replay or Bybit's public streams), trades from `on_trade`, which triggers
stops, and mark prices from `on_mark` (the engine passes the `markPrice` of each ticker), which
trigger liquidations. Paper fills do not reach the market, but the broker remembers what they took.

What it mirrors from Bybit (one-way mode, isolated margin, market orders only):

- A market order walks the opposite side level by level and never takes more than a level shows;
  what the book cannot fill is cancelled (status PartiallyFilledCanceled), like Bybit's IOC
  market orders. The taker fee (0.055 % by default) is charged on every fill.
- Fills take liquidity. What paper fills took from a level (every fill: orders, closes, stops) is
  remembered against the size the level showed then, and later walks see only the rest. The
  level is given back whole when the book shows a different size at that price (someone traded,
  added or cancelled there, so the book has news about it; a level that disappears counts), or
  when `book_for` returns another book object (the engine rebuilt the book). A snapshot that
  repeats the size leaves it taken: our fill never reached the market, so those are the same
  resting orders. Each side is remembered apart.
- Quantities are whole qty steps and stop prices whole ticks, computed in decimals from the
  shortest spelling of the float, so 99999.953 is 99999953 steps of 0.001, never one fewer.
- Rejections carry Bybit's retCode and a message like Bybit's: duplicate orderLinkId 110072
  ("OrderLinkedID is duplicate"); a malformed orderLinkId, unknown symbol, qty below minOrderQty
  or above maxMktOrderQty, a reduce-only order with a stop-loss, a stop-loss on the wrong side of
  the last price ("StopLoss:… set for Buy position should lower than base_price:…??LastPrice"),
  a leverage out of range: 10001; qty that rounds to zero ("orderQty will be truncated to zero")
  and reduce-only with no position ("current position is zero, cannot fix reduce-only order qty")
  or on the position's own side: 110017 (Bybit's "Reduce-only rule not satisfied"; the last
  message is ours, Bybit's exact wording is not documented); notional below minNotionalValue
  110094 ("Order does not meet minimum order value"); not enough available balance 110007
  ("ab not enough for new order", as Bybit answers). An empty or missing book, or one whose
  levels paper fills have taken, is a rejection without a retCode ("EC_NoImmediateQtyToFill",
  Bybit's cancel reason for a market order that found nothing to fill). Every rejected order
  is recorded (status Rejected, code, reason) and found by its orderLinkId, except a duplicate
  (it would overwrite the original) and a qty or stop-loss that is not a finite number (10001:
  the stored account is strict JSON). The account remembers the last `remembered_orders`
  orders (config `[paper]`), enough to resolve an unknown outcome; an older orderLinkId is
  forgotten, and no longer a duplicate.
- Reduce-only orders only shrink the position and are cut to its size; they are exempt from the
  minimum qty and notional, as on Bybit.
- Isolated margin: a position locks notional / leverage plus a reserve for the closing fee.
  Available = wallet - locked margin and reserves; equity = wallet + unrealized PnL at the mark
  price. A leverage change applies to new positions: adding to an open one checks and books the
  margin at the leverage it opened with.
- The mark price of a symbol is the latest `on_mark` (one with an older timestamp than the last
  is ignored) while it is fresh: no older, by the broker's clock, than `mark_max_age_ms` (the
  config's `stale_data_s`), so a symbol whose tickers stopped is not judged on an old mark.
  Without a fresh mark it is the mid of the present book (`mark_book_for`, by default the book
  it fills against; a replay fills against a book read ahead, which a mark must not see);
  without a valid book, the last trade.
- Liquidation triggers on the mark price, checked on every mark and every trade: when it reaches
  the price where the position's loss leaves only the maintenance margin (0.5 % of the entry
  notional). Bybit's liquidation engine then takes the position over at its bankruptcy price,
  where the loss equals the initial margin (put on the tick away from the entry): the position
  closes there whatever the book shows (exit reason "liquidation"), the whole margin is lost
  and the closing-fee reserve is charged as the fee. A close the book makes worse than that (a
  stop in a gap) is capped at margin and reserve, the rest being the insurance fund's. So the
  wallet never goes below zero.
- The stop-loss belongs to the position (Bybit's Full TP/SL mode) and triggers on a trade at or
  through it (last-price trigger). A stop price is put on the tick away from the price (a long's
  down, a short's up) and only then checked against the last price, so rounding never moves it
  to the wrong side. Once triggered, the stop is a reduce-only market close in flight: it walks
  the book at once, skipping levels better than the trade that triggered it (that trade has
  taken them), so in a gap it fills worse than the stop; what the book cannot fill (too few
  levels) is closed at the next trade (again from levels no better than that trade) or mark,
  until the position is flat, even if the price has come back. The stop rests on the exchange,
  whose book is not ours: given `exchange_books` (a replay: the recording's book, rebuilt apart
  from the engine's and without its feed latency, `venues/replay.py`), a triggered stop walks
  that one whatever state the engine's book is in; otherwise the book it is shown. When that
  book has nothing on the closing side (none, invalid, or that side empty), the stop fills
  whole at the price of the trade that triggered it or the next one (a print is liquidity the
  exchange had there), never waiting for a book to heal; each such fill is listed in
  `stops_at_print`. The position keeps showing its stop meanwhile; the closing order's
  `created_at` is the trigger time, so a late close says how late it was.
- With `keep_excursions` (backtests) the account remembers, for each closed position, the
  lowest and highest price it saw: its fills, and the prints from its fill's arrival to its
  close (`excursions`, for MAE and MFE).
- Requests take `request_delay_ms` of the broker's clock to reach the exchange (a replay's
  feed plus order latency; 0 elsewhere). A position exists on the exchange from its fill's
  arrival (`live_from`): no earlier trade triggers its stop. A stop-loss change waits on its
  way (the position shows the stop asked for; the one in force still triggers) and takes
  effect at the first trade from its arrival on, unless the last price before that trade is
  already on its wrong side: then the exchange refuses it, as Bybit would, the old stop stays,
  the position says so, and `stops_refused` lists it.
- Funding at 00:00, 08:00 and 16:00 UTC on every open position: qty x mark x rate, a long
  paying a positive rate. The rate is the latest `fundingRate` the symbol's tickers carried
  (`on_funding_rate`), else the configured one; every payment is listed (`funding`) with its
  rate and which of the two it was.
- `open_orders` lists the stop-losses not yet triggered (status Untriggered, no orderLinkId,
  order id "{name}-sl-{symbol}"); `cancel_all` cancels them, as Bybit's cancel-all without an
  order filter does, and returns their order ids since they have no orderLinkId. A triggered
  stop cannot be cancelled.
- `export_state` gives the account as plain data (JSON-ready, versioned): wallet, leverage per
  symbol, positions with their stops, the remembered orders, and the id counters, so order and
  execution ids never repeat. `restore_state` puts it back into a broker built on the same
  instruments, so a restart continues the same account. Market state (last prices, marks, what
  fills took from the books) is not kept: the restarted engine sees fresh books.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, NamedTuple, Protocol

from densitytui.config import Config
from densitytui.market.book import OrderBook
from densitytui.model import (
    Balance,
    Fill,
    Instrument,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Trade,
)
from densitytui.venues.base import (
    RET_DUPLICATE_ORDER_LINK_ID,
    RET_INSUFFICIENT_BALANCE,
    RET_NOTIONAL_BELOW_MIN,
    RET_PARAMETER_ERROR,
    RET_QTY_ROUNDS_TO_ZERO,
    AccountUpdate,
    ExchangeError,
    OrderRejected,
    SimulatedAccount,
    VenueUnavailable,
)

BookLookup = Callable[[str], OrderBook | None]
Clock = Callable[[], int]
Fills = list[tuple[float, int]]
"""(price, qty in whole qty steps), in the order they happened."""
TakenLevels = dict[tuple[Side, float], tuple[float, int]]
"""(order side, price) → (the size the level showed when last taken from, steps taken since)."""
PaperState = dict[str, Any]
"""The account as `export_state` gives it: JSON-ready dicts, lists, strings and numbers."""

LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")
MAINTENANCE_MARGIN_RATE = 0.005
NO_LIQUIDITY = "EC_NoImmediateQtyToFill: no liquidity on the book"
STATE_VERSION = 1
# Absorbs float noise when comparing money and quantities (never used to count steps).
EPSILON = 1e-9


class ExchangeBooks(Protocol):
    """The exchange's own books, apart from the ones the engine keeps (a replay's: rebuilt
    from the recording). `watch` while a position is open on the symbol, `unwatch` after."""

    def exchange_book(self, symbol: str) -> OrderBook | None: ...

    def watch(self, symbol: str) -> None: ...

    def unwatch(self, symbol: str) -> None: ...


class PaperStateError(ValueError):
    """A stored paper account that cannot be restored: another version, or malformed."""


@dataclass(frozen=True, slots=True)
class _Grid:
    """An instrument's tick and qty step as exact decimals."""

    tick: Decimal
    step: Decimal

    @classmethod
    def of(cls, instrument: Instrument) -> _Grid:
        return cls(_decimal(instrument.tick_size), _decimal(instrument.qty_step))

    def steps(self, qty: float) -> int:
        """Whole qty steps in `qty`, rounded down: an order or a level never grows."""
        return int(_decimal(qty) // self.step)

    def qty(self, steps: int) -> float:
        return float(self.step * steps)

    def on_tick(self, price: float, up: bool) -> float:
        """`price` on the tick grid, rounded up or down."""
        rounding = ROUND_CEILING if up else ROUND_FLOOR
        ticks = (_decimal(price) / self.tick).to_integral_value(rounding)
        return float(ticks * self.tick)


@dataclass
class _Holding:
    """An open position as the broker keeps it: qty in whole qty steps."""

    symbol: str
    side: Side
    steps: int
    grid: _Grid
    entry: float
    leverage: float
    margin: float
    reserve: float
    opened_at: int
    stop_loss: float | None = None
    # The exchange time from which the position exists there (its fill reached the exchange):
    # earlier trades cannot trigger its stop.
    live_from: int = 0
    # A stop-loss change on its way to the exchange: (the new stop, when it arrives).
    pending_stop: tuple[float | None, int] | None = None
    # The lowest and highest price the position has seen (fills, and prints from live_from).
    low: float = math.inf
    high: float = -math.inf
    # When the stop triggered, while its close waits for the book to fill it.
    stop_triggered_at: int | None = None
    # Price PnL of what was closed (capped at the margin it freed), before fees.
    realized: float = 0.0
    # Every fee paid, opening and closing.
    fees: float = 0.0
    # The liquidation price and the (steps, margin, entry) it was worked out for: it is asked
    # on every trade and changes only with a fill.
    line: tuple[tuple[int, float, float], float] | None = None

    @property
    def qty(self) -> float:
        return self.grid.qty(self.steps)

    def liquidation_price(self) -> float:
        """Where the loss leaves only the maintenance margin of the entry notional."""
        key = (self.steps, self.margin, self.entry)
        line = self.line
        if line is not None and line[0] == key:
            return line[1]
        qty = self.qty
        cushion = (self.margin - MAINTENANCE_MARGIN_RATE * self.entry * qty) / qty
        price = self.entry - cushion * self.side.sign
        self.line = (key, price)
        return price

    def bankruptcy_price(self) -> float:
        """Where the loss equals the margin, on the tick away from the entry."""
        price = self.entry - self.margin / self.qty * self.side.sign
        return self.grid.on_tick(max(price, 0.0), up=self.side is Side.SELL)


@dataclass(slots=True)
class _Taken:
    """What paper fills took from one symbol's book object."""

    book: OrderBook
    levels: TakenLevels = field(default_factory=dict)


FUNDING_MS = 8 * 3_600_000


class FundingPayment(NamedTuple):
    """One position's funding at one funding time."""

    at: int
    symbol: str
    # Paid by the account: positive is a cost.
    amount: float
    rate_pct: float
    # "ticker" (the rate the symbol's tickers carried) or "configured" (paper.funding_rate_pct).
    source: str


class PaperBroker(SimulatedAccount):
    """One paper USDT account; see the module docstring for the rules it follows."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        book_for: BookLookup,
        clock: Clock,
        *,
        starting_balance: float = 1_000.0,
        taker_fee_pct: float = 0.055,
        leverage: float = 10.0,
        mark_max_age_ms: int = 30_000,
        remembered_orders: int = 1_000,
        name: str = "paper",
        mark_book_for: BookLookup | None = None,
        funding_rate_pct: float = 0.0,
        exchange_books: ExchangeBooks | None = None,
        request_delay_ms: int = 0,
        keep_excursions: bool = False,
    ) -> None:
        self.name = name
        self._instruments = {instrument.symbol: instrument for instrument in instruments}
        self._grids = {symbol: _Grid.of(i) for symbol, i in self._instruments.items()}
        self._book_for = book_for
        # The book whose mid stands in for a missing mark: the present one. A replay fills
        # against a book read `latency_ms` ahead, which a mark must not see.
        self._mark_book_for = mark_book_for or book_for
        self._clock = clock
        # Where triggered stops fill: the exchange's book when there is one apart from ours.
        self._exchange_books = exchange_books
        # Recorded time from a request to the exchange (a replay's feed and order latencies).
        self._request_delay_ms = request_delay_ms
        # (trigger time, symbol, price) of each stop filled at a print: no book on its side.
        self.stops_at_print: list[tuple[int, str, float]] = []
        # (arrival time, symbol, stop) of each stop change the exchange refused on arrival.
        self.stops_refused: list[tuple[int, str, float]] = []
        # With `keep_excursions` (a backtest's MAE/MFE): (symbol, opened at) of each closed
        # position -> (lowest, highest) price it saw.
        self.excursions: dict[tuple[str, int], tuple[float, float]] | None = (
            {} if keep_excursions else None
        )
        self._fee_rate = taker_fee_pct / 100
        self._default_leverage = leverage
        self._mark_max_age_ms = mark_max_age_ms
        self._remembered_orders = remembered_orders
        self._leverage: dict[str, float] = {}
        self._wallet = starting_balance
        self._holdings: dict[str, _Holding] = {}
        self._orders: dict[str, Order] = {}
        self._last_price: dict[str, float] = {}
        # Mark price, its exchange time and when the broker's clock received it, by symbol.
        self._marks: dict[str, tuple[float, int, int]] = {}
        self._taken: dict[str, _Taken] = {}
        self._updates: asyncio.Queue[AccountUpdate | None] = asyncio.Queue()
        self._order_seq = 0
        self._exec_seq = 0
        self._closed = False
        self._funding_rate = funding_rate_pct / 100
        # The latest rate the tickers carried, by symbol (a fraction); it wins over the config's.
        self._recorded_rates: dict[str, float] = {}
        self._next_funding: int | None = None
        # Every payment, in time order (`FundingPayment`).
        self.funding: list[FundingPayment] = []

    @classmethod
    def from_config(
        cls,
        config: Config,
        instruments: Iterable[Instrument],
        book_for: BookLookup,
        clock: Clock,
        name: str = "paper",
        mark_book_for: BookLookup | None = None,
        exchange_books: ExchangeBooks | None = None,
        request_delay_ms: int = 0,
        keep_excursions: bool = False,
    ) -> PaperBroker:
        """Starting balance, fee and orders remembered from `[paper]`; default leverage, and the
        age after which a mark price is too old to use (market data is stale), from `[risk]`."""
        return cls(
            instruments,
            book_for,
            clock,
            starting_balance=config.paper.starting_balance_usdt,
            taker_fee_pct=config.paper.taker_fee_pct,
            leverage=config.risk.leverage,
            mark_max_age_ms=round(config.risk.stale_data_s * 1000),
            remembered_orders=config.paper.remembered_orders,
            name=name,
            mark_book_for=mark_book_for,
            funding_rate_pct=config.paper.funding_rate_pct,
            exchange_books=exchange_books,
            request_delay_ms=request_delay_ms,
            keep_excursions=keep_excursions,
        )

    # ---- funding

    def on_funding_rate(self, symbol: str, rate_pct: float, ts: int) -> None:
        """A ticker's `fundingRate` (in %): the rate of the next funding time, charged from
        now on instead of the configured one. A funding time already passed is settled first,
        at the rate known before it."""
        if not math.isfinite(rate_pct):
            return
        if self._next_funding is not None and self._clock() >= self._next_funding:
            self._settle_funding()
        self._recorded_rates[symbol] = rate_pct / 100

    def funding_rate(self, symbol: str) -> tuple[float, str]:
        """(the rate in % the next funding time of `symbol` charges, "ticker" or "configured")."""
        recorded = self._recorded_rates.get(symbol)
        if recorded is None:
            return self._funding_rate * 100, "configured"
        return recorded * 100, "ticker"

    def _settle_funding(self) -> None:
        """At every funding time passed (00:00, 08:00, 16:00 UTC), each open position pays
        (a long at a positive rate) or earns qty x mark x rate; the wallet takes it. The rate
        is the latest the symbol's tickers carried, else the configured one."""
        now = self._clock()
        if self._next_funding is None:
            self._next_funding = (now // FUNDING_MS + 1) * FUNDING_MS
            return
        while now >= self._next_funding:
            at = self._next_funding
            self._next_funding += FUNDING_MS
            for symbol, holding in sorted(self._holdings.items()):
                mark = self._mark_price(symbol) or holding.entry
                recorded = self._recorded_rates.get(symbol)
                rate = self._funding_rate if recorded is None else recorded
                amount = holding.qty * mark * rate * holding.side.sign
                self._wallet -= amount
                self.funding.append(FundingPayment(
                    at, symbol, amount, rate * 100, "configured" if recorded is None else "ticker",
                ))

    # ---- orders

    async def place_order(self, request: OrderRequest) -> Order:
        self._check_open()
        # A funding time passed since the last trade is settled before the order changes the
        # positions it applies to.
        if self._next_funding is not None and self._clock() >= self._next_funding:
            self._settle_funding()
        link_id = request.order_link_id
        if link_id in self._orders:
            raise OrderRejected("OrderLinkedID is duplicate", RET_DUPLICATE_ORDER_LINK_ID)
        stop = request.stop_loss
        if not math.isfinite(request.qty) or (stop is not None and not math.isfinite(stop)):
            raise OrderRejected(
                "params error: qty and stopLoss must be finite numbers", RET_PARAMETER_ERROR
            )
        now = self._clock()
        self._order_seq += 1
        order = Order(
            order_link_id=link_id,
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
            order_type=request.order_type,
            status=OrderStatus.NEW,
            created_at=now,
            order_id=f"{self.name}-{self._order_seq}",
            stop_loss=request.stop_loss,
            reduce_only=request.reduce_only,
            updated_at=now,
        )
        self._orders[link_id] = order
        if len(self._orders) > self._remembered_orders:
            del self._orders[next(iter(self._orders))]
        try:
            grid, steps, fills, stop = self._accept(request)
        except OrderRejected as rejection:
            order.status = OrderStatus.REJECTED
            order.reject_code = rejection.ret_code
            order.reject_reason = rejection.ret_msg
            self._publish(replace(order))
            raise
        order.qty = grid.qty(steps)
        order.stop_loss = stop
        self._fill(order, grid, fills, steps, "", self._book_for(order.symbol))
        holding = self._holdings.get(order.symbol)
        if stop is not None and holding is not None and holding.side is order.side:
            holding.stop_loss = stop
            self._publish(self._position(holding))
        return replace(order)

    def _accept(self, request: OrderRequest) -> tuple[_Grid, int, Fills, float | None]:
        """Check the request as Bybit would; return its grid, qty in steps, its fills and its
        stop-loss on the tick."""
        if not LINK_ID.fullmatch(request.order_link_id):
            raise OrderRejected(
                "params error: orderLinkId must be 1-36 characters of A-Z a-z 0-9 _ -",
                RET_PARAMETER_ERROR,
            )
        instrument = self._instruments.get(request.symbol)
        if instrument is None:
            raise OrderRejected("params error: symbol invalid", RET_PARAMETER_ERROR)
        if request.order_type is not OrderType.MARKET:
            raise OrderRejected(
                "params error: the paper broker takes market orders only", RET_PARAMETER_ERROR
            )
        grid = self._grids[request.symbol]
        steps = grid.steps(request.qty)
        if steps <= 0:
            raise OrderRejected("orderQty will be truncated to zero", RET_QTY_ROUNDS_TO_ZERO)
        holding = self._holdings.get(request.symbol)
        stop = None
        if request.reduce_only:
            if request.stop_loss is not None:
                raise OrderRejected(
                    "params error: reduceOnly order can not set TP/SL", RET_PARAMETER_ERROR
                )
            if holding is None:
                raise OrderRejected(
                    "current position is zero, cannot fix reduce-only order qty",
                    RET_QTY_ROUNDS_TO_ZERO,
                )
            if holding.side is request.side:
                raise OrderRejected(
                    "reduce-only order has the same side as the current position",
                    RET_QTY_ROUNDS_TO_ZERO,
                )
            steps = min(steps, holding.steps)
        else:
            qty = grid.qty(steps)
            if qty < instrument.min_qty * (1 - EPSILON):
                raise OrderRejected(
                    "The number of contracts exceeds minimum limit allowed", RET_PARAMETER_ERROR
                )
            if qty > instrument.max_market_qty * (1 + EPSILON):
                raise OrderRejected(
                    "The number of contracts exceeds maximum limit allowed", RET_PARAMETER_ERROR
                )
        book = self._book_for(request.symbol)
        fills = self._walk(request.symbol, request.side, steps, None, book)
        if not fills:
            raise OrderRejected(NO_LIQUIDITY)
        if not request.reduce_only:
            if grid.qty(steps) * fills[0][0] < instrument.min_notional:
                raise OrderRejected(
                    f"Order does not meet minimum order value {instrument.min_notional:g}USDT",
                    RET_NOTIONAL_BELOW_MIN,
                )
            if request.stop_loss is not None:
                stop = self._checked_stop(request.symbol, request.side, request.stop_loss)
            self._check_cost(request.symbol, request.side, fills, grid)
        return grid, steps, fills, stop

    def _check_cost(self, symbol: str, side: Side, fills: Fills, grid: _Grid) -> None:
        """Margin, opening fee and closing-fee reserve of what the order opens must be available.

        The part that closes an opposite position frees its margin only once filled, so it is
        not counted: a flip needs the full cost of its new side available up front. An addition
        costs margin at the leverage its position opened with, as it is booked.
        """
        holding = self._holdings.get(symbol)
        closing = 0
        leverage = self._leverage_for(symbol)
        if holding is not None:
            if holding.side is side:
                leverage = holding.leverage
            else:
                closing = holding.steps
        opening = 0.0
        for price, steps in fills:
            taken = min(steps, closing)
            closing -= taken
            opening += price * grid.qty(steps - taken)
        cost = opening / leverage + 2 * opening * self._fee_rate
        if cost > self._available() + EPSILON:
            raise OrderRejected("ab not enough for new order", RET_INSUFFICIENT_BALANCE)

    def _checked_stop(self, symbol: str, side: Side, stop_loss: float) -> float:
        """The stop on the tick away from the price, then checked: a long's stop must be below
        the last price, a short's above (Bybit's base price)."""
        if not math.isfinite(stop_loss) or stop_loss <= 0:
            raise OrderRejected(
                f"params error: stopLoss {stop_loss} is not a price", RET_PARAMETER_ERROR
            )
        stop = self._grids[symbol].on_tick(stop_loss, up=side is Side.SELL)
        base = self._base_price(symbol)
        wrong = stop <= 0 or (
            base is not None and (stop >= base if side is Side.BUY else stop <= base)
        )
        if wrong:
            relation = "lower" if side is Side.BUY else "higher"
            raise OrderRejected(
                f"StopLoss:{stop:g} set for {side.value} position should {relation} than "
                f"base_price:{base if base is not None else 0:g}??LastPrice",
                RET_PARAMETER_ERROR,
            )
        return stop

    def _walk(
        self, symbol: str, side: Side, steps: int, limit: float | None, book: OrderBook | None,
    ) -> Fills:
        """Fills of a market order of `steps` against what paper fills left of `book`, best
        price first.

        `limit` skips levels better than it (a stop's triggering trade has already taken them).
        """
        if book is None or not book.valid:
            return []
        grid = self._grids[symbol]
        taken = self._taken_from(symbol, book)
        ladder = book.asks if side is Side.BUY else book.bids
        prices = ladder.prices if side is Side.BUY else reversed(ladder.prices)
        sizes = ladder.sizes
        fills: Fills = []
        for price in prices:
            if steps <= 0:
                break
            if limit is not None and (price < limit if side is Side.BUY else price > limit):
                continue
            size = sizes[price]
            available = grid.steps(size)
            before = taken.get((side, price))
            if before is not None and before[0] == size:
                available -= before[1]
            if available > 0:
                count = min(available, steps)
                fills.append((price, count))
                steps -= count
        return fills

    def _taken_from(self, symbol: str, book: OrderBook) -> TakenLevels:
        """What paper fills took from `book`; nothing when the engine has replaced the book.
        The exchange's own book (stops) shares what fills took from the orders' book: they
        show the same resting orders."""
        taken = self._taken.get(symbol)
        if taken is None or (taken.book is not book and not self._is_exchange_book(symbol, book)):
            taken = self._taken[symbol] = _Taken(book)
        return taken.levels

    def _is_exchange_book(self, symbol: str, book: OrderBook) -> bool:
        books = self._exchange_books
        return books is not None and book is books.exchange_book(symbol)

    def _stop_book(self, symbol: str) -> OrderBook | None:
        """The book a triggered stop fills on: the exchange's own when there is one apart."""
        if self._exchange_books is not None:
            return self._exchange_books.exchange_book(symbol)
        return self._book_for(symbol)

    def _take(self, symbol: str, side: Side, fills: Fills, book: OrderBook | None) -> None:
        """Remember what `fills` took from `book`, forgetting levels the book has changed."""
        if book is None:
            return
        levels = self._taken_from(symbol, book)
        for (taker, price), (seen, _) in list(levels.items()):
            ladder = book.asks if taker is Side.BUY else book.bids
            if ladder.size_of(price) != seen:
                del levels[taker, price]
        ladder = book.asks if side is Side.BUY else book.bids
        for price, steps in fills:
            before = levels.get((side, price))
            levels[side, price] = (ladder.size_of(price), steps + (before[1] if before else 0))

    def _fill(
        self, order: Order, grid: _Grid, fills: Fills, requested: int, reason: str,
        book: OrderBook | None,
    ) -> None:
        """Book the fills of `order` (taken from `book`), publish them, the order and the
        position it leaves."""
        self._take(order.symbol, order.side, fills, book)
        now = self._clock()
        filled = 0
        # Price x steps: the average over whole steps has no float noise from the step size.
        weighted = 0.0
        fees = 0.0
        closed: list[Position] = []
        for price, steps in fills:
            qty = grid.qty(steps)
            fee = price * qty * self._fee_rate
            gone = self._net(order.symbol, order.side, price, steps, fee, now, reason)
            if gone is not None:
                closed.append(gone)
            filled += steps
            weighted += price * steps
            fees += fee
            self._publish(self._execution(order, price, qty, fee, now))
        order.filled_qty = grid.qty(filled)
        order.avg_price = weighted / filled
        order.fee = fees
        order.updated_at = now
        order.status = (
            OrderStatus.FILLED if filled >= requested else OrderStatus.PARTIALLY_FILLED_CANCELED
        )
        self._publish(replace(order))
        for position in closed:
            self._publish(position)
        holding = self._holdings.get(order.symbol)
        if holding is not None:
            self._publish(self._position(holding))

    def _execution(self, order: Order, price: float, qty: float, fee: float, now: int) -> Fill:
        self._exec_seq += 1
        return Fill(
            exec_id=f"{self.name}-exec-{self._exec_seq}",
            order_link_id=order.order_link_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=fee,
            ts=now,
        )

    def _net(
        self, symbol: str, side: Side, price: float, steps: int, fee: float, now: int, reason: str
    ) -> Position | None:
        """Net one fill into the position: close against it first, open with the rest.

        Returns the closed position when this fill closed it.
        """
        holding = self._holdings.get(symbol)
        grid = self._grids[symbol]
        closed = None
        if holding is not None and holding.side is not side:
            holding.low = min(holding.low, price)
            holding.high = max(holding.high, price)
            closing = min(steps, holding.steps)
            share = closing / holding.steps
            margin = holding.margin * share
            reserve = holding.reserve * share
            closing_fee = fee * closing / steps
            pnl = (price - holding.entry) * grid.qty(closing) * holding.side.sign
            change = max(pnl - closing_fee, -(margin + reserve))
            self._wallet += change
            holding.realized += change + closing_fee
            holding.fees += closing_fee
            holding.margin -= margin
            holding.reserve -= reserve
            holding.steps -= closing
            if holding.steps == 0:
                self._gone(holding)
                closed = self._position(holding, closed_at=now, exit_price=price, reason=reason)
            steps -= closing
            fee -= closing_fee
            if steps == 0:
                return closed
            holding = None
        self._wallet -= fee
        notional = price * grid.qty(steps)
        if holding is None:
            leverage = self._leverage_for(symbol)
            self._holdings[symbol] = _Holding(
                symbol=symbol,
                side=side,
                steps=steps,
                grid=grid,
                entry=price,
                leverage=leverage,
                margin=notional / leverage,
                reserve=notional * self._fee_rate,
                opened_at=now,
                fees=fee,
                live_from=now + self._request_delay_ms,
                low=price,
                high=price,
            )
            if self._exchange_books is not None:
                self._exchange_books.watch(symbol)
        else:
            total = holding.steps + steps
            holding.entry = (holding.entry * holding.steps + price * steps) / total
            holding.steps = total
            holding.margin += notional / holding.leverage
            holding.reserve += notional * self._fee_rate
            holding.fees += fee
            holding.low = min(holding.low, price)
            holding.high = max(holding.high, price)
        return closed

    def _gone(self, holding: _Holding) -> None:
        """A position closed: forget it, and keep the prices it saw when asked to."""
        del self._holdings[holding.symbol]
        if self._exchange_books is not None:
            self._exchange_books.unwatch(holding.symbol)
        if self.excursions is not None:
            self.excursions[holding.symbol, holding.opened_at] = (holding.low, holding.high)

    # ---- trades and marks: stops and liquidation

    def on_trade(self, trade: Trade) -> None:
        """A public trade: the last price, the trigger of stops, and a moment to check the mark."""
        self._on_price(trade.symbol, trade.price)

    def on_trades(self, trades: Iterable[Trade]) -> None:
        for trade in trades:
            self.on_trade(trade)

    def on_prices(self, symbol: str, prices: Sequence[float]) -> None:
        """The prices of a symbol's public trades in order, for a feed that has not made
        `Trade` objects: `on_trade` of each. Without a position only the last one counts."""
        if self._next_funding is None or self._clock() >= self._next_funding:
            self._settle_funding()
        if symbol in self._holdings and not self._closed:
            for price in prices:
                self._on_price(symbol, price)
        elif prices:
            self._last_price[symbol] = prices[-1]

    def _on_price(self, symbol: str, price: float) -> None:
        holding = self._holdings.get(symbol)
        now = self._clock()
        if holding is not None and holding.pending_stop is not None and (
            now >= holding.pending_stop[1]
        ):
            # The change reached the exchange before this trade: judged on the price before it.
            self._arrive(holding)
        self._last_price[symbol] = price
        if self._next_funding is None or now >= self._next_funding:
            self._settle_funding()
        holding = self._holdings.get(symbol)
        if holding is None or self._closed:
            return
        if now >= holding.live_from:
            if price < holding.low:
                holding.low = price
            if price > holding.high:
                holding.high = price
        stop = holding.stop_loss
        if holding.stop_triggered_at is None and stop is not None and now >= holding.live_from:
            crossed = price <= stop if holding.side is Side.BUY else price >= stop
            if crossed:
                holding.stop_triggered_at = self._clock()
        if holding.stop_triggered_at is not None:
            self._close_at_market(holding, price, "stop_loss")
        self._check_liquidation(symbol)

    def on_mark(self, symbol: str, mark_price: float, ts: int) -> None:
        """A mark price (a ticker's `markPrice`, exchange time `ts`): the liquidation trigger.

        A mark older than the last one, or not a positive number, is ignored. A triggered stop
        still waiting for the book tries again here."""
        known = self._marks.get(symbol)
        if not (math.isfinite(mark_price) and mark_price > 0) or (
            known is not None and ts < known[1]
        ):
            return
        self._marks[symbol] = (mark_price, ts, self._clock())
        holding = self._holdings.get(symbol)
        if holding is None or self._closed:
            return
        if holding.stop_triggered_at is not None:
            self._close_at_market(holding, None, "stop_loss")
        self._check_liquidation(symbol)

    def _check_liquidation(self, symbol: str) -> None:
        holding = self._holdings.get(symbol)
        mark = self._mark_price(symbol)
        if holding is None or mark is None:
            return
        line = holding.liquidation_price()
        if mark <= line if holding.side is Side.BUY else mark >= line:
            self._liquidate(holding)

    def _liquidate(self, holding: _Holding) -> None:
        """Bybit's liquidation engine takes the position over at its bankruptcy price: the
        margin is lost and the closing-fee reserve pays the fee."""
        now = self._clock()
        price = holding.bankruptcy_price()
        order = self._venue_close(holding, now)
        fee = holding.reserve
        self._wallet -= holding.margin + holding.reserve
        holding.realized -= holding.margin
        holding.fees += fee
        holding.low = min(holding.low, price)
        holding.high = max(holding.high, price)
        self._gone(holding)
        self._publish(self._execution(order, price, order.qty, fee, now))
        order.filled_qty = order.qty
        order.avg_price = price
        order.fee = fee
        order.status = OrderStatus.FILLED
        self._publish(replace(order))
        self._publish(
            self._position(holding, closed_at=now, exit_price=price, reason="liquidation")
        )

    def _close_at_market(self, holding: _Holding, limit: float | None, reason: str) -> None:
        """The venue's own reduce-only market close of a triggered stop, on the exchange's
        book, from levels no better than `limit`."""
        side = holding.side.opposite
        symbol = holding.symbol
        book = self._stop_book(symbol)
        fills = self._walk(symbol, side, holding.steps, limit, book)
        if not fills and reason == "stop_loss" and limit is not None and self._side_empty(
            book, side,
        ):
            fills = [(limit, holding.steps)]
            self.stops_at_print.append((holding.stop_triggered_at or self._clock(), symbol, limit))
        if fills:
            order = self._venue_close(holding, holding.stop_triggered_at or self._clock())
            self._fill(order, holding.grid, fills, holding.steps, reason, book)

    @staticmethod
    def _side_empty(book: OrderBook | None, side: Side) -> bool:
        """The book has nothing for a `side` order: none, invalid, or no level on that side."""
        if book is None or not book.valid:
            return True
        return not (book.asks if side is Side.BUY else book.bids).prices

    def _venue_close(self, holding: _Holding, created_at: int) -> Order:
        """A reduce-only market order of the whole position that the venue sends itself."""
        self._order_seq += 1
        return Order(
            order_link_id="",
            symbol=holding.symbol,
            side=holding.side.opposite,
            qty=holding.qty,
            order_type=OrderType.MARKET,
            status=OrderStatus.NEW,
            created_at=created_at,
            order_id=f"{self.name}-{self._order_seq}",
            stop_loss=holding.stop_loss,
            reduce_only=True,
            updated_at=self._clock(),
        )

    # ---- stop-loss, cancel, leverage, margin mode

    async def set_stop_loss(self, symbol: str, stop_loss: float | None) -> None:
        """Checked against the last price now; with a request delay it takes effect when it
        reaches the exchange (`_arrive`), the stop before it standing until then."""
        self._check_open()
        self._instrument(symbol)
        holding = self._holdings.get(symbol)
        if holding is None:
            raise OrderRejected("can not set tp/sl/ts for zero position", RET_PARAMETER_ERROR)
        price = None
        if stop_loss is not None and stop_loss != 0:
            price = self._checked_stop(symbol, holding.side, stop_loss)
        if price == self._asked_stop(holding):
            return
        if self._request_delay_ms > 0:
            holding.pending_stop = (price, self._clock() + self._request_delay_ms)
        else:
            holding.stop_loss = price
        self._publish(self._position(holding))

    @staticmethod
    def _asked_stop(holding: _Holding) -> float | None:
        """The stop the position will have: the one on its way, else the one in force."""
        pending = holding.pending_stop
        return holding.stop_loss if pending is None else pending[0]

    def _arrive(self, holding: _Holding) -> None:
        """A stop change reaches the exchange: refused, as Bybit would, when the last price is
        already on its wrong side (the stop in force stays, and the position says so)."""
        assert holding.pending_stop is not None
        (stop, at), holding.pending_stop = holding.pending_stop, None
        base = self._last_price.get(holding.symbol)
        if stop is not None and base is not None and (
            stop >= base if holding.side is Side.BUY else stop <= base
        ):
            self.stops_refused.append((at, holding.symbol, stop))
            self._publish(self._position(holding))
            return
        holding.stop_loss = stop

    async def cancel_all(self) -> list[str]:
        """Cancels every stop-loss not yet triggered (Bybit's cancel-all takes TP/SL too);
        returns their order ids."""
        self._check_open()
        cancelled = []
        for holding in self._holdings.values():
            if self._asked_stop(holding) is not None and holding.stop_triggered_at is None:
                cancelled.append(self._stop_order(holding).order_id)
                holding.stop_loss = None
                holding.pending_stop = None
                self._publish(self._position(holding))
        return cancelled

    async def set_leverage(self, symbol: str, leverage: float) -> None:
        self._check_open()
        instrument = self._instrument(symbol)
        if not 1 <= leverage <= instrument.max_leverage:
            raise ExchangeError(
                f"params error: leverage {leverage:g} outside 1-{instrument.max_leverage:g}",
                RET_PARAMETER_ERROR,
            )
        self._leverage[symbol] = leverage

    async def margin_mode(self) -> MarginMode:
        return MarginMode.ISOLATED

    async def set_margin_mode(self, mode: MarginMode) -> None:
        if mode is not MarginMode.ISOLATED:
            raise ExchangeError(
                f"params error: paper accounts use isolated margin only, not {mode.value}",
                RET_PARAMETER_ERROR,
            )

    # ---- account state

    async def positions(self) -> list[Position]:
        return [self._position(holding) for holding in self._holdings.values()]

    async def open_orders(self) -> list[Order]:
        """The stop-losses waiting for their trigger; market orders never rest."""
        return [
            self._stop_order(holding)
            for holding in self._holdings.values()
            if self._asked_stop(holding) is not None and holding.stop_triggered_at is None
        ]

    async def balance(self) -> Balance:
        unrealized = sum(self._unrealized(holding) for holding in self._holdings.values())
        locked = sum(holding.margin for holding in self._holdings.values())
        return Balance(
            equity=self._wallet + unrealized,
            available=self._available(),
            wallet=self._wallet,
            unrealized_pnl=unrealized,
            position_margin=locked,
        )

    def marked_equity(self) -> float:
        """Equity now: the wallet plus every open position at its mark (as `balance`)."""
        return self._wallet + sum(self._unrealized(h) for h in self._holdings.values())

    async def order_by_link_id(self, symbol: str, order_link_id: str) -> Order | None:
        order = self._orders.get(order_link_id)
        return replace(order) if order is not None and order.symbol == symbol else None

    @property
    def pending_updates(self) -> int:
        """Updates published and not yet taken from `updates`."""
        return self._updates.qsize()

    async def updates(self) -> AsyncIterator[AccountUpdate]:
        while True:
            update = await self._updates.get()
            if update is None:
                return
            yield update

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._updates.put_nowait(None)

    # ---- persistence

    def export_state(self) -> PaperState:
        """The account as plain data for the store; `restore_state` takes it back."""
        return {
            "version": STATE_VERSION,
            "wallet": self._wallet,
            "leverage": dict(self._leverage),
            "positions": [_holding_state(holding) for holding in self._holdings.values()],
            "orders": [_order_state(order) for order in self._orders.values()],
            "order_seq": self._order_seq,
            "exec_seq": self._exec_seq,
        }

    def restore_state(self, state: PaperState) -> None:
        """Replace the account with one `export_state` gave (of this broker or a previous
        process), before trading. Raises `PaperStateError` on another version or bad data,
        leaving the account as it was."""
        version = state.get("version") if isinstance(state, dict) else None
        if version != STATE_VERSION:
            raise PaperStateError(
                f"paper account state version {version!r} is not supported "
                f"(this build reads version {STATE_VERSION})"
            )
        try:
            holdings = {}
            for item in state["positions"]:
                holding = self._holding_from(item)
                holdings[holding.symbol] = holding
            orders = {}
            for item in state["orders"][-self._remembered_orders :]:
                order = _order_from(item)
                orders[order.order_link_id] = order
            leverage = {str(symbol): float(value) for symbol, value in state["leverage"].items()}
            wallet = float(state["wallet"])
            order_seq = int(state["order_seq"])
            exec_seq = int(state["exec_seq"])
        except PaperStateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
            raise PaperStateError(f"malformed paper account state: {exc!r}") from None
        self._holdings = holdings
        self._orders = orders
        self._leverage = leverage
        self._wallet = wallet
        self._order_seq = order_seq
        self._exec_seq = exec_seq

    def _holding_from(self, item: dict[str, Any]) -> _Holding:
        symbol = item["symbol"]
        grid = self._grids.get(symbol)
        if grid is None:
            raise PaperStateError(f"paper account state holds {symbol!r}, not a listed instrument")
        qty = _decimal(float(item["qty"]))
        if qty <= 0 or qty % grid.step != 0:
            raise PaperStateError(
                f"paper account state: {symbol} qty {item['qty']} is not whole steps of "
                f"{grid.step}"
            )
        stop = item["stop_loss"]
        triggered = item["stop_triggered_at"]
        return _Holding(
            symbol=symbol,
            side=Side(item["side"]),
            steps=int(qty / grid.step),
            grid=grid,
            entry=float(item["entry"]),
            leverage=float(item["leverage"]),
            margin=float(item["margin"]),
            reserve=float(item["reserve"]),
            opened_at=int(item["opened_at"]),
            stop_loss=None if stop is None else float(stop),
            stop_triggered_at=None if triggered is None else int(triggered),
            realized=float(item["realized"]),
            fees=float(item["fees"]),
        )

    # ---- helpers

    def _check_open(self) -> None:
        if self._closed:
            raise VenueUnavailable(f"{self.name}: the paper broker is closed")

    def _instrument(self, symbol: str) -> Instrument:
        instrument = self._instruments.get(symbol)
        if instrument is None:
            raise OrderRejected("params error: symbol invalid", RET_PARAMETER_ERROR)
        return instrument

    def _leverage_for(self, symbol: str) -> float:
        return self._leverage.get(symbol, self._default_leverage)

    def _available(self) -> float:
        locked = sum(holding.margin + holding.reserve for holding in self._holdings.values())
        return max(0.0, self._wallet - locked)

    def _book_mid(self, symbol: str) -> float | None:
        book = self._book_for(symbol)
        return book.mid() if book is not None and book.valid else None

    def _base_price(self, symbol: str) -> float | None:
        last = self._last_price.get(symbol)
        return last if last is not None else self._book_mid(symbol)

    def _mark_price(self, symbol: str) -> float | None:
        """The last mark while it is fresh; else the book's mid; without a valid book the last
        trade."""
        mark = self._marks.get(symbol)
        if mark is not None and self._clock() - mark[2] <= self._mark_max_age_ms:
            return mark[0]
        book = self._mark_book_for(symbol)
        if book is not None and book.valid:
            mid = book.mid()
            if mid is not None:
                return mid
        return self._last_price.get(symbol)

    def _unrealized(self, holding: _Holding, mark: float | None = None) -> float:
        if mark is None:
            mark = self._mark_price(holding.symbol)
        price = holding.entry if mark is None else mark
        pnl = (price - holding.entry) * holding.qty * holding.side.sign
        return max(pnl, -(holding.margin + holding.reserve))

    def _position(
        self,
        holding: _Holding,
        closed_at: int | None = None,
        exit_price: float | None = None,
        reason: str = "",
    ) -> Position:
        mark = exit_price if exit_price is not None else self._mark_price(holding.symbol)
        if mark is None:
            mark = holding.entry
        return Position(
            symbol=holding.symbol,
            side=holding.side,
            qty=holding.qty,
            entry_price=holding.entry,
            opened_at=holding.opened_at,
            venue=self.name,
            stop_loss=self._asked_stop(holding),
            leverage=holding.leverage,
            mark_price=mark,
            unrealized_pnl=0.0 if closed_at is not None else self._unrealized(holding, mark),
            realized_pnl=holding.realized,
            fees=holding.fees,
            closed_at=closed_at,
            exit_reason=reason,
            exit_price=exit_price,
        )

    def _stop_order(self, holding: _Holding) -> Order:
        return Order(
            order_link_id="",
            symbol=holding.symbol,
            side=holding.side.opposite,
            qty=holding.qty,
            order_type=OrderType.MARKET,
            status=OrderStatus.UNTRIGGERED,
            created_at=holding.opened_at,
            order_id=f"{self.name}-sl-{holding.symbol}",
            stop_loss=self._asked_stop(holding),
            reduce_only=True,
        )

    def _publish(self, update: AccountUpdate) -> None:
        if not self._closed:
            self._updates.put_nowait(update)


def _decimal(value: float) -> Decimal:
    """The float as the decimal it was written as (its shortest spelling): 0.1 is 1/10."""
    return Decimal(repr(value))


def _holding_state(holding: _Holding) -> dict[str, Any]:
    return {
        "symbol": holding.symbol,
        "side": holding.side.value,
        "qty": holding.qty,
        "entry": holding.entry,
        "leverage": holding.leverage,
        "margin": holding.margin,
        "reserve": holding.reserve,
        "opened_at": holding.opened_at,
        "stop_loss": PaperBroker._asked_stop(holding),
        "stop_triggered_at": holding.stop_triggered_at,
        "realized": holding.realized,
        "fees": holding.fees,
    }


def _order_state(order: Order) -> dict[str, Any]:
    return {
        "order_link_id": order.order_link_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "qty": order.qty,
        "order_type": order.order_type.value,
        "status": order.status.value,
        "created_at": order.created_at,
        "order_id": order.order_id,
        "price": order.price,
        "stop_loss": order.stop_loss,
        "reduce_only": order.reduce_only,
        "filled_qty": order.filled_qty,
        "avg_price": order.avg_price,
        "fee": order.fee,
        "reject_code": order.reject_code,
        "reject_reason": order.reject_reason,
        "updated_at": order.updated_at,
    }


def _order_from(item: dict[str, Any]) -> Order:
    return Order(
        order_link_id=str(item["order_link_id"]),
        symbol=str(item["symbol"]),
        side=Side(item["side"]),
        qty=float(item["qty"]),
        order_type=OrderType(item["order_type"]),
        status=OrderStatus(item["status"]),
        created_at=int(item["created_at"]),
        order_id=str(item["order_id"]),
        price=None if item["price"] is None else float(item["price"]),
        stop_loss=None if item["stop_loss"] is None else float(item["stop_loss"]),
        reduce_only=bool(item["reduce_only"]),
        filled_qty=float(item["filled_qty"]),
        avg_price=float(item["avg_price"]),
        fee=float(item["fee"]),
        reject_code=None if item["reject_code"] is None else int(item["reject_code"]),
        reject_reason=str(item["reject_reason"]),
        updated_at=int(item["updated_at"]),
    )
