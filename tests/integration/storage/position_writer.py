"""Writes positions and fills to a SQLite store until killed, printing each row after its commit.

`python position_writer.py DB_PATH FIRST` writes rows FIRST, FIRST+1... The SIGKILL test reads the
printed lines, kills this process mid-stream and checks that every printed row survived.
"""

from __future__ import annotations

import asyncio
import sys

from densitytui.config import StorageSection
from densitytui.model import Fill, Position, Side
from densitytui.storage import open_store

T0 = 1_723_161_240_000
ROW_LIMIT = 1_000_000  # only a bound in case the test dies before it kills the writer


def position_for(n: int) -> Position:
    return Position(
        symbol="BTCUSDT", side=Side.BUY if n % 2 == 0 else Side.SELL, qty=0.001 * (n + 1),
        entry_price=60_000.0 + n, opened_at=T0 + n, venue="sim", stop_loss=59_000.0 + n,
        signal_id=f"sig-{n}",
    )


def fill_for(n: int) -> Fill:
    return Fill(
        exec_id=f"exec-{n}", order_link_id=f"dt1-{n:06d}", symbol="BTCUSDT", side=Side.BUY,
        price=60_000.0 + n, qty=0.001 * (n + 1), fee=0.033 * (n + 1), ts=T0 + n,
    )


async def write(path: str, first: int) -> None:
    async with await open_store(StorageSection(url=f"sqlite:///{path}")) as store:
        for n in range(first, first + ROW_LIMIT):
            position_id = await store.open_position(position_for(n))
            await store.add_fill(fill_for(n))
            print(n, position_id, flush=True)


if __name__ == "__main__":
    asyncio.run(write(sys.argv[1], int(sys.argv[2])))
