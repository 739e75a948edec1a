"""`PaperBroker`: a Bybit-like USDT linear account that fills against whatever book it is shown.

It owns no market data: books come from `book_for(symbol)` (the market engine's live books, over
the simulated market, a replay or Bybit's public streams) and trades from `on_trade`, which
triggers stops. Paper fills do not change the market.

What it mirrors from Bybit (one-way mode, isolated margin, market orders only):

- A market order walks the opposite side level by level and never takes more than a level shows;
  what the book cannot fill is cancelled (status PartiallyFilledCanceled), like Bybit's IOC
  market orders. The taker fee (0.055 % by default) is charged on every fill.
- Rejections carry Bybit's retCode and a message like Bybit's: duplicate orderLinkId 110072
  ("OrderLinkedID is duplicate"); a malformed orderLinkId, unknown symbol, qty below minOrderQty
  or above maxMktOrderQty, a reduce-only order with a stop-loss, a stop-loss on the wrong side of
  the last price ("StopLoss:… set for Buy position should lower than base_price:…??LastPrice"),
  a leverage out of range: 10001; qty that rounds to zero ("orderQty will be truncated to zero")
  and reduce-only with no position ("current position is zero, cannot fix reduce-only order qty")
  or on the position's own side: 110017 (Bybit's "Reduce-only rule not satisfied"; the last
  message is ours, Bybit's exact wording is not documented); notional below minNotionalValue
  110094 ("Order does not meet minimum order value"); not enough available balance 110007
  ("ab not enough for new order", as Bybit answers). An empty or missing book is a rejection
  without a retCode ("EC_NoImmediateQtyToFill", Bybit's cancel reason for a market order that
  found nothing to fill). Every rejected order except a duplicate is recorded (status Rejected,
  code, reason) and found by its orderLinkId; a duplicate would overwrite the original.
- Reduce-only orders only shrink the position and are cut to its size; they are exempt from the
  minimum qty and notional, as on Bybit.
- Isolated margin: a position locks notional / leverage plus a reserve for the closing fee.
  Available = wallet - locked margin and reserves; equity = wallet + unrealized PnL at the book's
  mid (last trade without a book). A position never loses more than its margin and reserve:
  it is liquidated (closed at the book, exit reason "liquidation") when a trade prints beyond the
  price where its loss leaves only the maintenance margin (0.5 % of the entry notional), and a
  loss that the book still makes larger is capped, the rest being Bybit's insurance fund's. So
  the wallet never goes below zero.
- The stop-loss belongs to the position (Bybit's Full TP/SL mode) and triggers on a trade at or
  through it (last-price trigger); the close then walks the book as a reduce-only market order,
  skipping levels better than the trade that triggered it (that trade has taken them): in a gap
  it fills worse than the stop. What the book cannot fill stays open, stop and all, and the next
  trade through the stop tries again.
- `open_orders` lists the stop-losses (status Untriggered, no orderLinkId, order id
  "{name}-sl-{symbol}"); `cancel_all` cancels them, as Bybit's cancel-all without an order filter
  does, and returns their order ids since they have no orderLinkId.
- A leverage change applies to new positions; an open one keeps the margin it locked.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace

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
    Exchange,
    ExchangeError,
    OrderRejected,
    VenueUnavailable,
)

BookLookup = Callable[[str], OrderBook | None]
Clock = Callable[[], int]
Fills = list[tuple[float, int]]
"""(price, qty in whole qty steps), in the order they happened."""

LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")
MAINTENANCE_MARGIN_RATE = 0.005
NO_LIQUIDITY = "EC_NoImmediateQtyToFill: no liquidity on the book"
# Quantities are whole qty steps; this absorbs float noise when a qty is divided by its step.
EPSILON = 1e-9


@dataclass
class _Holding:
    """An open position as the broker keeps it: qty in whole qty steps."""

    symbol: str
    side: Side
    steps: int
    step: float
    entry: float
    leverage: float
    margin: float
    reserve: float
    opened_at: int
    stop_loss: float | None = None
    # Price PnL of what was closed (capped at the margin it freed), before fees.
    realized: float = 0.0
    # Every fee paid, opening and closing.
    fees: float = 0.0

    @property
    def qty(self) -> float:
        return _round_qty(self.steps * self.step, self.step)

    def liquidation_price(self) -> float:
        """Where the loss leaves only the maintenance margin of the entry notional."""
        notional = self.entry * self.steps * self.step
        cushion = (self.margin - MAINTENANCE_MARGIN_RATE * notional) / (self.steps * self.step)
        return self.entry - cushion * self.side.sign


class PaperBroker(Exchange):
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
        name: str = "paper",
    ) -> None:
        self.name = name
        self._instruments = {instrument.symbol: instrument for instrument in instruments}
        self._book_for = book_for
        self._clock = clock
        self._fee_rate = taker_fee_pct / 100
        self._default_leverage = leverage
        self._leverage: dict[str, float] = {}
        self._wallet = starting_balance
        self._holdings: dict[str, _Holding] = {}
        self._orders: dict[str, Order] = {}
        self._last_price: dict[str, float] = {}
        self._updates: asyncio.Queue[AccountUpdate | None] = asyncio.Queue()
        self._order_seq = 0
        self._exec_seq = 0
        self._closed = False

    @classmethod
    def from_config(
        cls,
        config: Config,
        instruments: Iterable[Instrument],
        book_for: BookLookup,
        clock: Clock,
        name: str = "paper",
    ) -> PaperBroker:
        """Starting balance and fee from `[paper]`, default leverage from `[risk]`."""
        return cls(
            instruments,
            book_for,
            clock,
            starting_balance=config.paper.starting_balance_usdt,
            taker_fee_pct=config.paper.taker_fee_pct,
            leverage=config.risk.leverage,
            name=name,
        )

    # ---- orders

    async def place_order(self, request: OrderRequest) -> Order:
        self._check_open()
        link_id = request.order_link_id
        if link_id in self._orders:
            raise OrderRejected("OrderLinkedID is duplicate", RET_DUPLICATE_ORDER_LINK_ID)
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
        try:
            instrument, steps, fills = self._accept(request)
        except OrderRejected as rejection:
            order.status = OrderStatus.REJECTED
            order.reject_code = rejection.ret_code
            order.reject_reason = rejection.ret_msg
            self._publish(replace(order))
            raise
        order.qty = _round_qty(steps * instrument.qty_step, instrument.qty_step)
        self._fill(order, instrument, fills, steps, "")
        holding = self._holdings.get(order.symbol)
        if request.stop_loss is not None and holding is not None and holding.side is order.side:
            holding.stop_loss = self._on_tick(instrument, request.stop_loss)
            self._publish(self._position(holding))
        return replace(order)

    def _accept(self, request: OrderRequest) -> tuple[Instrument, int, Fills]:
        """Check the request as Bybit would; return its instrument, qty in steps and its fills."""
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
        step = instrument.qty_step
        steps = math.floor(request.qty / step + EPSILON)
        if steps <= 0:
            raise OrderRejected("orderQty will be truncated to zero", RET_QTY_ROUNDS_TO_ZERO)
        holding = self._holdings.get(request.symbol)
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
            qty = steps * step
            if qty < instrument.min_qty * (1 - EPSILON):
                raise OrderRejected(
                    "The number of contracts exceeds minimum limit allowed", RET_PARAMETER_ERROR
                )
            if qty > instrument.max_market_qty * (1 + EPSILON):
                raise OrderRejected(
                    "The number of contracts exceeds maximum limit allowed", RET_PARAMETER_ERROR
                )
        fills = self._walk(request.symbol, request.side, steps, step, None)
        if not fills:
            raise OrderRejected(NO_LIQUIDITY)
        if not request.reduce_only:
            if steps * step * fills[0][0] < instrument.min_notional:
                raise OrderRejected(
                    f"Order does not meet minimum order value {instrument.min_notional:g}USDT",
                    RET_NOTIONAL_BELOW_MIN,
                )
            if request.stop_loss is not None:
                self._check_stop(request.symbol, request.side, request.stop_loss)
            self._check_cost(request.symbol, request.side, fills, step)
        return instrument, steps, fills

    def _check_cost(self, symbol: str, side: Side, fills: Fills, step: float) -> None:
        """Margin, opening fee and closing-fee reserve of what the order opens must be available.

        The part that closes an opposite position frees its margin only once filled, so it is
        not counted: a flip needs the full cost of its new side available up front.
        """
        holding = self._holdings.get(symbol)
        closing = holding.steps if holding is not None and holding.side is not side else 0
        opening = 0.0
        for price, steps in fills:
            taken = min(steps, closing)
            closing -= taken
            opening += price * (steps - taken) * step
        cost = opening / self._leverage_for(symbol) + 2 * opening * self._fee_rate
        if cost > self._available() + EPSILON:
            raise OrderRejected("ab not enough for new order", RET_INSUFFICIENT_BALANCE)

    def _check_stop(self, symbol: str, side: Side, stop_loss: float) -> None:
        """A long's stop must be below the last price, a short's above (Bybit's base price)."""
        base = self._base_price(symbol)
        wrong = stop_loss <= 0 or (
            base is not None and (stop_loss >= base if side is Side.BUY else stop_loss <= base)
        )
        if wrong:
            relation = "lower" if side is Side.BUY else "higher"
            raise OrderRejected(
                f"StopLoss:{stop_loss:g} set for {side.value} position should {relation} than "
                f"base_price:{base if base is not None else 0:g}??LastPrice",
                RET_PARAMETER_ERROR,
            )

    def _walk(self, symbol: str, side: Side, steps: int, step: float, limit: float | None) -> Fills:
        """Fills of a market order of `steps` against the current book, best price first.

        `limit` skips levels better than it (a stop's triggering trade has already taken them).
        """
        book = self._book_for(symbol)
        if book is None or not book.valid:
            return []
        ladder = book.asks if side is Side.BUY else book.bids
        prices = ladder.prices if side is Side.BUY else reversed(ladder.prices)
        sizes = ladder.sizes
        fills: Fills = []
        for price in prices:
            if steps <= 0:
                break
            if limit is not None and (price < limit if side is Side.BUY else price > limit):
                continue
            available = math.floor(sizes[price] / step + EPSILON)
            if available > 0:
                taken = min(available, steps)
                fills.append((price, taken))
                steps -= taken
        return fills

    def _fill(
        self, order: Order, instrument: Instrument, fills: Fills, requested: int, reason: str
    ) -> None:
        """Book the fills of `order`, publish them, the order and the position it leaves."""
        now = self._clock()
        step = instrument.qty_step
        filled = 0
        notional = 0.0
        fees = 0.0
        closed: list[Position] = []
        for price, steps in fills:
            qty = steps * step
            fee = price * qty * self._fee_rate
            gone = self._net(order.symbol, order.side, price, steps, step, fee, now, reason)
            if gone is not None:
                closed.append(gone)
            filled += steps
            notional += price * qty
            fees += fee
            self._exec_seq += 1
            self._publish(Fill(
                exec_id=f"{self.name}-exec-{self._exec_seq}",
                order_link_id=order.order_link_id,
                symbol=order.symbol,
                side=order.side,
                price=price,
                qty=_round_qty(qty, step),
                fee=fee,
                ts=now,
            ))
        order.filled_qty = _round_qty(filled * step, step)
        order.avg_price = notional / (filled * step)
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

    def _net(
        self,
        symbol: str,
        side: Side,
        price: float,
        steps: int,
        step: float,
        fee: float,
        now: int,
        reason: str,
    ) -> Position | None:
        """Net one fill into the position: close against it first, open with the rest.

        Returns the closed position when this fill closed it.
        """
        holding = self._holdings.get(symbol)
        closed = None
        if holding is not None and holding.side is not side:
            closing = min(steps, holding.steps)
            share = closing / holding.steps
            margin = holding.margin * share
            reserve = holding.reserve * share
            closing_fee = fee * closing / steps
            pnl = (price - holding.entry) * closing * step * holding.side.sign
            change = max(pnl - closing_fee, -(margin + reserve))
            self._wallet += change
            holding.realized += change + closing_fee
            holding.fees += closing_fee
            holding.margin -= margin
            holding.reserve -= reserve
            holding.steps -= closing
            if holding.steps == 0:
                del self._holdings[symbol]
                closed = self._position(holding, closed_at=now, exit_price=price, reason=reason)
            steps -= closing
            fee -= closing_fee
            if steps == 0:
                return closed
            holding = None
        self._wallet -= fee
        notional = price * steps * step
        if holding is None:
            leverage = self._leverage_for(symbol)
            self._holdings[symbol] = _Holding(
                symbol=symbol,
                side=side,
                steps=steps,
                step=step,
                entry=price,
                leverage=leverage,
                margin=notional / leverage,
                reserve=notional * self._fee_rate,
                opened_at=now,
                fees=fee,
            )
        else:
            total = holding.steps + steps
            holding.entry = (holding.entry * holding.steps + price * steps) / total
            holding.steps = total
            holding.margin += notional / holding.leverage
            holding.reserve += notional * self._fee_rate
            holding.fees += fee
        return closed

    # ---- trades: stops and liquidation

    def on_trade(self, trade: Trade) -> None:
        """A public trade: the last price, and the trigger of stops and liquidations."""
        self._last_price[trade.symbol] = trade.price
        holding = self._holdings.get(trade.symbol)
        if holding is None or self._closed:
            return
        long = holding.side is Side.BUY
        price = trade.price
        stop = holding.stop_loss
        if stop is not None and (price <= stop if long else price >= stop):
            self._close_at_market(holding, price, "stop_loss")
        elif price <= holding.liquidation_price() if long else price >= holding.liquidation_price():
            self._close_at_market(holding, price, "liquidation")

    def on_trades(self, trades: Iterable[Trade]) -> None:
        for trade in trades:
            self.on_trade(trade)

    def _close_at_market(self, holding: _Holding, trigger: float, reason: str) -> None:
        """The venue's own reduce-only market close, from levels no better than `trigger`."""
        instrument = self._instruments[holding.symbol]
        side = holding.side.opposite
        fills = self._walk(holding.symbol, side, holding.steps, instrument.qty_step, trigger)
        if not fills:
            return
        now = self._clock()
        self._order_seq += 1
        order = Order(
            order_link_id="",
            symbol=holding.symbol,
            side=side,
            qty=holding.qty,
            order_type=OrderType.MARKET,
            status=OrderStatus.NEW,
            created_at=now,
            order_id=f"{self.name}-{self._order_seq}",
            stop_loss=holding.stop_loss,
            reduce_only=True,
            updated_at=now,
        )
        self._fill(order, instrument, fills, holding.steps, reason)

    # ---- stop-loss, cancel, leverage, margin mode

    async def set_stop_loss(self, symbol: str, stop_loss: float | None) -> None:
        self._check_open()
        instrument = self._instrument(symbol)
        holding = self._holdings.get(symbol)
        if holding is None:
            raise OrderRejected("can not set tp/sl/ts for zero position", RET_PARAMETER_ERROR)
        if stop_loss is None or stop_loss == 0:
            if holding.stop_loss is not None:
                holding.stop_loss = None
                self._publish(self._position(holding))
            return
        self._check_stop(symbol, holding.side, stop_loss)
        price = self._on_tick(instrument, stop_loss)
        if price != holding.stop_loss:
            holding.stop_loss = price
            self._publish(self._position(holding))

    async def cancel_all(self) -> list[str]:
        """Cancels every stop-loss (Bybit's cancel-all takes TP/SL too); returns their order ids."""
        self._check_open()
        cancelled = []
        for holding in self._holdings.values():
            if holding.stop_loss is not None:
                cancelled.append(self._stop_order(holding).order_id)
                holding.stop_loss = None
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
            if holding.stop_loss is not None
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

    async def order_by_link_id(self, symbol: str, order_link_id: str) -> Order | None:
        order = self._orders.get(order_link_id)
        return replace(order) if order is not None and order.symbol == symbol else None

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

    def _base_price(self, symbol: str) -> float | None:
        last = self._last_price.get(symbol)
        if last is not None:
            return last
        book = self._book_for(symbol)
        return book.mid() if book is not None and book.valid else None

    def _mark(self, holding: _Holding) -> float:
        book = self._book_for(holding.symbol)
        mid = book.mid() if book is not None and book.valid else None
        if mid is not None:
            return mid
        return self._last_price.get(holding.symbol, holding.entry)

    def _unrealized(self, holding: _Holding, mark: float | None = None) -> float:
        price = self._mark(holding) if mark is None else mark
        pnl = (price - holding.entry) * holding.steps * holding.step * holding.side.sign
        return max(pnl, -(holding.margin + holding.reserve))

    @staticmethod
    def _on_tick(instrument: Instrument, price: float) -> float:
        tick = instrument.tick_size
        return round(round(price / tick) * tick, _decimals(tick))

    def _position(
        self,
        holding: _Holding,
        closed_at: int | None = None,
        exit_price: float | None = None,
        reason: str = "",
    ) -> Position:
        mark = exit_price if exit_price is not None else self._mark(holding)
        return Position(
            symbol=holding.symbol,
            side=holding.side,
            qty=holding.qty,
            entry_price=holding.entry,
            opened_at=holding.opened_at,
            venue=self.name,
            stop_loss=holding.stop_loss,
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
            stop_loss=holding.stop_loss,
            reduce_only=True,
        )

    def _publish(self, update: AccountUpdate) -> None:
        if not self._closed:
            self._updates.put_nowait(update)


def _decimals(step: float) -> int:
    """Decimal places of a tick or qty step: 0.001 → 3, 1 → 0."""
    return max(0, -math.floor(math.log10(step) + EPSILON))


def _round_qty(qty: float, step: float) -> float:
    """`qty` with the decimals of `step`, so 3 x 0.1 reads 0.3."""
    return round(qty, _decimals(step))
