"""The simulated walls pass DESIGN §2 on the published window and meet the fates they were given."""

from __future__ import annotations

from collections import Counter

from wall_check import MIN_NOTIONAL, WallCheck

from densitytui.venues.sim import SimMarket

SYMBOLS = ["BTCUSDT", "XRPUSDT", "AVAXUSDT"]


def test_walls_are_eaten_held_and_pulled_as_scripted() -> None:
    market = SimMarket(7, SYMBOLS)
    market.subscribe(SYMBOLS)
    check = WallCheck()
    check.feed(market.run(200_000))
    walls = check.finish()
    assert check.gaps == 0 and check.crossed == 0
    outcomes = check.outcomes()
    for symbol in SYMBOLS:
        played = market.sim(symbol).planner.played
        assert played["aborted"] == 0
        for fate in ("eaten", "held", "spoof"):
            assert played[fate] >= 1, (symbol, played)
            assert outcomes[(symbol, fate)] >= played[fate], (symbol, fate, outcomes, played)
    confirmed = [w for w in walls if w.last_seen - w.first_seen >= 10_000]
    assert all(w.peak * w.price >= 2 * MIN_NOTIONAL for w in confirmed)
    eaten = [w for w in confirmed if w.fate == "eaten"]
    assert all(w.eaten >= 0.5 * w.peak for w in eaten)
    held = [w for w in confirmed if w.fate == "held"]
    assert all(w.tested and w.size >= 0.9 * w.peak for w in held)
    spoofs = [w for w in confirmed if w.fate == "spoof"]
    assert all(w.eaten == 0 for w in spoofs)
    assert Counter(w.symbol for w in confirmed).keys() == set(SYMBOLS)
