"""What must hold between the store (the engine's SQLite file, read as it lies on disk) and the
fake exchange's own state, whatever happened to the engine: each check returns the violations
it found, in words, so a campaign can count them and list them all.

- no order sent twice: every orderLinkId reached the exchange once, and was journaled first;
- no position lost: the store's open positions are the exchange's, side and size;
- no position without a stop-loss (checked once a reconciliation cycle has run);
- no fill lost: once every order is resolved, each one's stored fill is the exchange's.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from fake_bybit import FakeBybit

from densitytui.model import FINAL_ORDER_STATUSES

QTY_TOLERANCE = 1e-9


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as con:
        con.row_factory = sqlite3.Row
        return [dict(row) for row in con.execute(sql)]


def stored_orders(db: Path) -> dict[str, dict[str, Any]]:
    return {row["order_link_id"]: row for row in _rows(db, "SELECT * FROM orders")}


def open_orders_left(db: Path) -> list[str]:
    """Stored orders whose outcome the engine has not settled yet."""
    final = {status.value for status in FINAL_ORDER_STATUSES}
    return [i for i, row in stored_orders(db).items() if row["status"] not in final]


def sent_once_and_journaled(fake: FakeBybit, db: Path) -> list[str]:
    sent = [str(params.get("orderLinkId", "")) for params in fake.orders_received]
    stored = stored_orders(db)
    found = [f"{link_id} reached the exchange {n} times"
             for link_id, n in Counter(sent).items() if n > 1]
    found += [f"{link_id} reached the exchange without a journal row"
              for link_id in sent if link_id not in stored]
    return found


async def positions_agree(fake: FakeBybit, db: Path, *, protected: bool) -> list[str]:
    """The store's open positions are the exchange's; with `protected`, each has a stop-loss
    on the exchange, and the store holds that stop."""
    venue = {p.symbol: p for p in await fake.broker.positions() if p.qty > 0}
    stored = {row["symbol"]: row for row in _rows(
        db, "SELECT * FROM positions WHERE closed_at IS NULL")}
    found = []
    for symbol in sorted(set(venue) | set(stored)):
        mine, theirs = stored.get(symbol), venue.get(symbol)
        if mine is None:
            found.append(f"{symbol}: on the exchange, lost from the store")
            continue
        if theirs is None:
            found.append(f"{symbol}: open in the store, flat on the exchange")
            continue
        if mine["side"] != theirs.side.value or abs(mine["qty"] - theirs.qty) > QTY_TOLERANCE:
            found.append(f"{symbol}: store {mine['side']} {mine['qty']}, exchange "
                         f"{theirs.side.value} {theirs.qty}")
        if protected and not theirs.protected:
            found.append(f"{symbol}: no stop-loss on the exchange after reconciliation")
        elif protected and mine["stop_loss"] != theirs.stop_loss:
            found.append(f"{symbol}: stop {mine['stop_loss']} stored, {theirs.stop_loss} on "
                         "the exchange")
    return found


async def fills_kept(fake: FakeBybit, db: Path) -> list[str]:
    """Every order the exchange knows: the store has it final, with the exchange's fill."""
    found = []
    stored = stored_orders(db)
    for params in fake.orders_received:
        link_id, symbol = str(params.get("orderLinkId")), str(params.get("symbol"))
        order = await fake.broker.order_by_link_id(symbol, link_id)
        mine = stored.get(link_id)
        if order is None or mine is None:
            continue
        if abs(mine["filled_qty"] - order.filled_qty) > QTY_TOLERANCE:
            found.append(f"{link_id}: filled {mine['filled_qty']} stored, {order.filled_qty} on "
                         "the exchange")
    return found
