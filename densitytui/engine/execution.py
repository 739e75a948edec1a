"""Orders on the exchange (DESIGN.md §6): journal first, send once, resolve the unknown by id.

Every order gets an `orderLinkId` made here (a per-instance prefix and a counter) and is written
to the journal, status Created, before it is sent. An answer that never comes (timeout,
connection lost) is resolved by asking the venue for that id, never by sending again. Entries
carry their stop-loss; a position found without one gets it at once or is closed reduce-only at
market. Close-all cancels and closes concurrently, then asks the venue until it reports flat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from densitytui.engine.bounded import LATENCY_SAMPLES_KEPT, keep_last
from densitytui.engine.events import Emit, EventKind
from densitytui.engine.journal import Journal, JournalError
from densitytui.model import (
    FINAL_ORDER_STATUSES,
    Decision,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Signal,
)
from densitytui.venues.base import (
    Exchange,
    ExchangeError,
    OrderRejected,
    OutcomeUnknown,
    VenueUnavailable,
)

Sleep = Callable[[float], Awaitable[None]]

LINK_ID_MAX = 36


class LinkIds:
    """`orderLinkId`s: `{prefix}-{counter}`, at most 36 characters of `[A-Za-z0-9_-]`.

    The prefix names this engine instance (a restart takes a new one), so ids never repeat across
    runs on one account; the counter keeps them unique within the run."""

    def __init__(self, prefix: str) -> None:
        if not prefix or len(prefix) > 24 or not all(c.isalnum() or c in "_-" for c in prefix):
            raise ValueError(f"orderLinkId prefix {prefix!r}: 1-24 characters of A-Z a-z 0-9 _ -")
        self.prefix = prefix
        self._counter = 0

    def next(self, tag: str) -> str:
        self._counter += 1
        link_id = f"{self.prefix}-{tag}{self._counter}"
        assert len(link_id) <= LINK_ID_MAX
        return link_id


@dataclass(slots=True)
class LatencyLog:
    """Time from a trigger (the message or the keypress) to the order leaving the engine, in µs,
    by what triggered it ("auto", "confirm"): the whole of it, and the part spent waiting for
    the journal's durable write (the rest is the engine's own work)."""

    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def add(self, trigger: str, started: float, journal_s: float) -> None:
        total_us = (time.perf_counter() - started) * 1e6
        samples = self.samples.setdefault(trigger, [])
        samples.append((total_us, journal_s * 1e6))
        keep_last(samples, LATENCY_SAMPLES_KEPT)


@dataclass(slots=True, frozen=True)
class ExecutionRules:
    """Timeouts of the order path, from `[engine]`."""

    order_timeout_s: float = 10.0
    lookup_attempts: int = 10
    lookup_interval_s: float = 0.5
    close_all_attempts: int = 5
    close_all_retry_s: float = 0.5
    fill_wait_s: float = 5.0
    fill_check_s: float = 0.05


class Executor:
    """Sends orders for the engine and keeps the journal in step with what the venue answered."""

    def __init__(
        self,
        exchange: Exchange,
        journal: Journal,
        link_ids: LinkIds,
        clock_ms: Callable[[], int],
        emit: Emit,
        journal_failed: Callable[[Exception], None],
        rules: ExecutionRules = ExecutionRules(),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.exchange = exchange
        self.journal = journal
        self.link_ids = link_ids
        self.clock_ms = clock_ms
        self.emit = emit
        self.journal_failed = journal_failed
        self.rules = rules
        self.sleep = sleep
        self.latency = LatencyLog()
        # Round trip of the last request that got an answer, in ms (the status bar shows it).
        self.last_round_trip_ms: float | None = None

    # ---- one order

    async def send(
        self,
        request: OrderRequest,
        *,
        trigger: str = "",
        started: float | None = None,
        entry: tuple[Signal, Decision] | None = None,
        journaled: bool = False,
        record: bool = True,
        guard: Callable[[], str] | None = None,
    ) -> Order | None:
        """Journal, send, record the answer. None when the venue refused or never placed it.

        An entry's signal and accepted decision are written in the same transaction as its
        order row: one durable write between the decision and the order leaving. `journaled`:
        the caller wrote the order row already; without `record` the answer is returned for the
        caller to record. `guard`, asked after the journal write and just before sending, says
        why the order must not go after all (a pause acknowledged meanwhile): it is then
        recorded as rejected here and never sent."""
        order = _created(request, self.clock_ms())
        journal_started = time.perf_counter()
        try:
            if entry is not None:
                await self.journal.record_entry(*entry, order, self.exchange.name)
            elif not journaled:
                await self.journal.insert_order(order, self.exchange.name)
        except JournalError as exc:
            if not request.reduce_only:
                raise
            # A close only shrinks a position: it goes out even when the store is down.
            self.journal_failed(exc)
        if started is not None:
            self.latency.add(trigger, started, time.perf_counter() - journal_started)
        why_not = guard() if guard is not None else ""
        if why_not:
            await self._update(
                request.order_link_id, status=OrderStatus.REJECTED,
                reject_reason=f"not sent: {why_not}",
            )
            return None
        sent = time.perf_counter()
        try:
            answer = await asyncio.wait_for(
                self.exchange.place_order(request), self.rules.order_timeout_s,
            )
        except OrderRejected as rejection:
            await self._update(
                request.order_link_id, status=OrderStatus.REJECTED,
                reject_code=rejection.ret_code, reject_reason=rejection.ret_msg,
            )
            self.emit(
                EventKind.ORDER_REJECTED,
                f"{request.side.value} {request.qty:g} {request.symbol} rejected: {rejection}",
                request.symbol,
            )
            return None
        except (TimeoutError, OutcomeUnknown, VenueUnavailable) as exc:
            await self._update(
                request.order_link_id, status=OrderStatus.UNKNOWN,
                reject_reason=str(exc) or type(exc).__name__,
            )
            self.emit(
                EventKind.ORDER_UNKNOWN,
                f"no answer for {request.order_link_id} ({exc or 'timeout'}); asking the venue",
                request.symbol,
            )
            answer = await self.resolve(request.symbol, request.order_link_id)
            if answer is None:
                return None
        except ExchangeError as exc:
            await self._update(
                request.order_link_id, status=OrderStatus.REJECTED,
                reject_code=exc.ret_code, reject_reason=exc.ret_msg,
            )
            self.emit(EventKind.ORDER_REJECTED, f"{request.order_link_id}: {exc}", request.symbol)
            return None
        self.last_round_trip_ms = (time.perf_counter() - sent) * 1000
        if answer.status not in FINAL_ORDER_STATUSES:
            answer = await self._until_final(answer)
        if record:
            await self.record(answer)
        return answer

    async def _until_final(self, answer: Order) -> Order:
        """A venue that acknowledges before it fills (Bybit answers with ids only): ask for the
        order by its id until it is final, at most `fill_wait_s`."""
        waited = 0.0
        while waited < self.rules.fill_wait_s:
            await self.sleep(self.rules.fill_check_s)
            waited += self.rules.fill_check_s
            try:
                found = await self.exchange.order_by_link_id(answer.symbol, answer.order_link_id)
            except ExchangeError as exc:
                self.emit(
                    EventKind.ORDER_LOOKUP_FAILED, f"{answer.order_link_id}: {exc}", answer.symbol,
                )
                continue
            if found is not None:
                answer = found
                if found.status in FINAL_ORDER_STATUSES:
                    break
        return answer

    async def resolve(self, symbol: str, order_link_id: str) -> Order | None:
        """Ask the venue for an order whose answer was lost, until it says; never resend.

        None when the venue never knew it (after `lookup_attempts` answers of "no such order"),
        which is recorded as a rejection so the id is never used again."""
        misses = 0
        while misses < self.rules.lookup_attempts:
            try:
                found = await self.exchange.order_by_link_id(symbol, order_link_id)
            except ExchangeError as exc:
                self.emit(EventKind.ORDER_LOOKUP_FAILED, f"{order_link_id}: {exc}", symbol)
                await self.sleep(self.rules.lookup_interval_s)
                continue
            if found is not None:
                self.emit(
                    EventKind.ORDER_RESOLVED,
                    f"{order_link_id} found on the venue: {found.status.value}", symbol,
                )
                return found
            misses += 1
            await self.sleep(self.rules.lookup_interval_s)
        await self._update(
            order_link_id, status=OrderStatus.REJECTED,
            reject_reason="never reached the venue (not found by orderLinkId)",
        )
        self.emit(EventKind.ORDER_NOT_PLACED, f"{order_link_id} was never placed", symbol)
        return None

    async def record(self, order: Order) -> Order | None:
        """What the venue reports about one of our orders, into the journal (never backwards)."""
        if not order.order_link_id:
            return None
        return await self._update(
            order.order_link_id, order.updated_at or self.clock_ms(), status=order.status,
            order_id=order.order_id or None, filled_qty=order.filled_qty,
            avg_price=order.avg_price, fee=order.fee, reject_code=order.reject_code,
            reject_reason=order.reject_reason or None,
        )

    async def _update(self, order_link_id: str, at: int = 0, **fields: Any) -> Order | None:
        """Record an answer; an order sent is never undone by a store that fails afterwards,
        so a failure here is reported and the order path goes on."""
        try:
            return await self.journal.update_order(
                order_link_id, at or self.clock_ms(), **fields,
            )
        except LookupError:
            return None
        except JournalError as exc:
            self.journal_failed(exc)
            return None

    # ---- stops and closes

    async def set_stop(self, symbol: str, stop_loss: float) -> bool:
        """Put the stop-loss on the position at the venue; False (and an event) if refused."""
        try:
            await self.exchange.set_stop_loss(symbol, stop_loss)
        except ExchangeError as exc:
            text = f"{symbol}: stop-loss {stop_loss:g} refused: {exc}"
            self.emit(EventKind.STOP_LOSS_FAILED, text, symbol)
            return False
        return True

    async def close(self, symbol: str, side: Side, qty: float, reason: str) -> Order | None:
        """A reduce-only market close of `qty` of a `side` position."""
        request = OrderRequest(
            order_link_id=self.link_ids.next("x"), symbol=symbol, side=side.opposite, qty=qty,
            order_type=OrderType.MARKET, reduce_only=True,
        )
        self.emit(EventKind.CLOSING, f"closing {side.value} {qty:g} {symbol}: {reason}", symbol)
        return await self.send(request)

    async def close_all(self) -> tuple[bool, dict[str, Order]]:
        """Cancel every order and close every position concurrently, then verify flat.

        Flat means the venue reports no position and no open order, and a cancel-all went
        through. A round that leaves anything (a failed cancel or close) is followed by another;
        flat is False, with an alert, after the last round. Also returns the filled close of
        each symbol, for the PnL of what it closed."""
        closes: dict[str, Order] = {}
        answers: list[Order] = []
        cancelled = flat = False
        for attempt in range(1, self.rules.close_all_attempts + 2):
            positions, orders = await asyncio.gather(self._positions(), self._open_orders())
            if cancelled and positions == [] and orders == []:
                flat = True
                break
            if attempt > self.rules.close_all_attempts:
                break
            if attempt > 1:
                await self.sleep(self.rules.close_all_retry_s)
            requests = [
                OrderRequest(
                    order_link_id=self.link_ids.next("x"), symbol=p.symbol, side=p.side.opposite,
                    qty=p.qty, order_type=OrderType.MARKET, reduce_only=True,
                )
                for p in positions or ()
            ]
            await self._journal_closes(requests)
            jobs: list[Awaitable[object]] = [self.exchange.cancel_all()]
            jobs += [self.send(r, journaled=True, record=False) for r in requests]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            if isinstance(results[0], BaseException):
                text = f"round {attempt}: cancel-all failed: {results[0]}"
                self.emit(EventKind.CLOSE_ALL_ERROR, text, "")
            else:
                cancelled = True
            for result in results[1:]:
                if isinstance(result, BaseException):
                    self.emit(EventKind.CLOSE_ALL_ERROR, f"round {attempt}: {result}", "")
                elif isinstance(result, Order):
                    answers.append(result)
                    if result.filled_qty > 0:
                        closes[result.symbol] = result
        # The venue's answers reach the journal once flat is verified, not on the way to it.
        for answer in answers:
            await self.record(answer)
        if not flat:
            self.emit(
                EventKind.CLOSE_ALL_ALERT, "close all: the venue still reports open positions", "",
            )
        return flat, closes

    async def _journal_closes(self, requests: list[OrderRequest]) -> None:
        """Every close of a round in one durable write before any is sent; a store that fails
        does not hold them back (a close cannot add risk)."""
        now = self.clock_ms()
        orders = [_created(request, now) for request in requests]
        try:
            await self.journal.insert_orders(orders, self.exchange.name)
        except JournalError as exc:
            self.journal_failed(exc)

    async def _positions(self) -> list[Position] | None:
        try:
            return [p for p in await self.exchange.positions() if p.qty > 0]
        except ExchangeError as exc:
            self.emit(EventKind.CLOSE_ALL_ERROR, f"positions unavailable: {exc}", "")
            return None

    async def _open_orders(self) -> list[Order] | None:
        try:
            return await self.exchange.open_orders()
        except ExchangeError as exc:
            self.emit(EventKind.CLOSE_ALL_ERROR, f"open orders unavailable: {exc}", "")
            return None


def _created(request: OrderRequest, now: int) -> Order:
    """The journal row of a request about to be sent."""
    return Order(
        order_link_id=request.order_link_id, symbol=request.symbol, side=request.side,
        qty=request.qty, order_type=request.order_type, status=OrderStatus.CREATED,
        created_at=now, price=request.price, stop_loss=request.stop_loss,
        reduce_only=request.reduce_only, updated_at=now,
    )
