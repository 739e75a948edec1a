"""The same seed gives the same simulated market from any start: its clock starts on a whole
minute, where its 24 h history steps, so the start's place in the minute changes nothing."""

from __future__ import annotations

import re

from densitytui.venues.sim import SimMarket

T0 = 1_796_643_960_000  # a whole minute
SYMBOLS = ["SOLUSDT", "XRPUSDT", "DOGEUSDT"]
TIME = re.compile(rb'"(?:ts|T|cts|nextFundingTime)":\s*"?(\d+)"?')


def _run(start_ms: int, steps: int) -> tuple[list[tuple[str, float]], list[bytes]]:
    market = SimMarket(7, SYMBOLS, start_ms=start_ms)
    market.subscribe(market.symbols)
    origin = market.start_ms
    frames: list[bytes] = []
    for _ in range(steps):
        for frame in market.step():
            frames.append(TIME.sub(lambda m: str(int(m.group(1)) - origin).encode(), frame))
    changes = [(t.symbol, round(t.change_24h_pct, 6)) for t in market.tickers()]
    return changes, frames


def test_a_start_anywhere_in_the_minute_gives_the_same_market() -> None:
    # 62 s of 20 ms steps crosses a minute boundary, where the 24 h stats are recomputed.
    first = _run(T0, 3_100)
    later = _run(T0 + 39_980, 3_100)
    assert first[0] == later[0]
    assert first[1] == later[1]
    assert SimMarket(7, SYMBOLS, start_ms=T0 + 39_980).start_ms == T0
    # A different seed is a different market (the comparison can tell them apart).
    other = SimMarket(8, SYMBOLS, start_ms=T0)
    assert [t.change_24h_pct for t in other.tickers()] != [c for _, c in first[0]]
