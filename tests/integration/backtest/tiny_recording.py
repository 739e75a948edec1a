"""A hand-built recording of one made-up symbol whose one trade is known exactly.

TESTUSDT, tick 0.1 and qty step 1 (from the printed decimals). An ask wall of 100 at 100.1
lives 13 s (confirmed after 10), is eaten to 60 by a buy of 40 through it (a breakout, UP
trend with the given +5 % change, bids outweighing asks), so the engine buys at `T_SIGNAL`.
At `T_SIGNAL + 30` ms the recording takes the wall down to 3: an order filled with 50 ms of
latency meets that book (3 left at 100.1), one filled at once does not. At `T_STOP` a sell at 99.5 goes through
the stop (99.9), and the bids above 99.5 are gone: the stop fills at 99.5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

SYMBOL = "TESTUSDT"
T0 = 1_723_161_600_000
T_BREAK = T0 + 13_000
T_SIGNAL = T_BREAK + 25
T_WALL_DOWN = T_SIGNAL + 30
T_STOP = T_SIGNAL + 1_000
CHANGE = {SYMBOL: 5.0}
OVERRIDES: dict[str, dict[str, Any]] = {
    "density": {"min_notional_usdt": 1000.0, "cluster_range_pct": 0.0},
    # The buy of 40 prints at the wall's price (its far edge too, one level) and leaves 60 % of
    # it: a breakout by the near-edge rule with up to 60 % left, not by the far-edge default.
    "signals": {
        "bounce_max_distance_pct": 0.001, "breakout_through": "remaining",
        "breakout_max_remaining_pct": 60.0,
    },
    "risk": {
        "position_notional_usdt": 800.0, "max_position_exposure_pct": 100.0,
        "max_total_exposure_pct": 100.0,
    },
}
FEE = 0.055 / 100
QTY = 7  # floor(800 / 100.1)
EXIT_PRICE = 99.5


def _book(kind: str, ts: int, u: int, bids: list[list[str]], asks: list[list[str]]) -> bytes:
    return orjson.dumps({
        "topic": f"orderbook.50.{SYMBOL}", "type": kind, "ts": ts,
        "data": {"s": SYMBOL, "b": bids, "a": asks, "u": u, "seq": u}, "cts": ts,
    })


def _trades(ts: int, *items: tuple[str, str, str]) -> bytes:
    return orjson.dumps({
        "topic": f"publicTrade.{SYMBOL}", "type": "snapshot", "ts": ts,
        "data": [
            {"T": ts, "s": SYMBOL, "S": side, "v": size, "p": price, "L": "PlusTick",
             "i": f"t{ts}-{n}", "BT": False}
            for n, (side, size, price) in enumerate(items)
        ],
    })


def frames() -> list[bytes]:
    bids = [["99.9", "60"], ["99.8", "60"], ["99.7", "60"], ["99.5", "100"], ["99.4", "100"]]
    asks = [["100.0", "5"], ["100.1", "100"], ["100.2", "5"], ["100.3", "5"], ["100.4", "5"],
            ["100.5", "5"], ["100.6", "5"]]
    out = [_book("snapshot", T0, 100, bids, asks)]
    for second in range(1, 13):
        out.append(_trades(T0 + second * 1000, ("Buy", "1", "100.0")))
    out.append(_trades(T_BREAK, ("Buy", "5", "100.0"), ("Buy", "40", "100.1")))
    out.append(_book("delta", T_SIGNAL, 101, [], [["100.0", "0"], ["100.1", "60"]]))
    out.append(_book("delta", T_WALL_DOWN, 102, [], [["100.1", "3"]]))
    out.append(_book("delta", T_STOP - 10, 103, [["99.9", "0"], ["99.8", "0"], ["99.7", "0"]], []))
    out.append(_trades(T_STOP, ("Sell", "20", "99.5")))
    out.append(_book("delta", T_STOP + 200, 104, [["99.5", "80"]], []))
    return out


def write(path: Path) -> Path:
    path.write_bytes(b"\n".join(frames()) + b"\n")
    return path
