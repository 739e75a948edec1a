"""Issue 19's "done when", checked from the backtest's trades with code of its own (the raw JSON
of the recordings, a plain book, DESIGN §2's criteria written again by the density oracle of
tests/integration/market), never with the engine's verdicts:

1. no exit before the fill could be known: an exit the engine decides comes at least
   latency_ms + answer_latency_ms after the entry was sent, a stop at least feed + order
   latency after it (when the fill reached the exchange);
2. no dynamic take-profit (velocity_fade, opposing_density, counter_aggression) closes at a net
   loss before slippage: at the last recorded price the engine can have seen when it decided,
   the trade nets >= 0 after both taker fees;
3. no entry with an opposing density inside the reward/risk room: on the book as recorded when
   the entry was decided, no candidate that qualifies as a density on the far side (asks above a
   long, bids below a short; not the signal's own) starts nearer than min_reward_risk x the
   stop distance. With the check switched off the same code finds such entries on the BTC file,
   so it can tell.

On the shared BTC file with both signs of the 24 h change, and on a recording of the simulated
market (seed 7, 300 s, four symbols) with both signs for every symbol.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_backtest_excursions import LOOSE

from densitytui.backtest.overrides import apply_overrides, parse_grid
from densitytui.backtest.report import to_dict
from densitytui.backtest.run import run_backtest
from densitytui.cli import main
from densitytui.config import Config
from densitytui.venues.sim.instruments import SPECS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "market"))
from test_density_oracle import Numbers, Oracle

SIM_SYMBOLS = ["XRPUSDT", "SUIUSDT", "LTCUSDT", "TONUSDT"]
SIM_SECONDS = 300
DYNAMIC = {"velocity_fade", "opposing_density", "counter_aggression"}
ENGINE_EXITS = {"stop_loss", "liquidation", "close_all"}


@dataclass
class Run:
    name: str
    path: Path
    config: Config
    data: dict[str, Any]


def _config(tmp: Path, overrides: list[str]) -> Config:
    base = Config.model_validate({"logging": {"file": str(tmp / "log.jsonl")}})
    return apply_overrides(base, parse_grid(overrides)[0])


def _backtest(name: str, path: Path, config: Config, changes: dict[str, float]) -> Run:
    result = asyncio.run(run_backtest(config, [path], changes))
    return Run(name, path, config, to_dict(result))


@pytest.fixture(scope="module")
def runs(btc_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("done-when")
    sim = tmp / "sim.jsonl"
    assert main([
        "sim", "--seed", "7", "--duration", str(SIM_SECONDS), "--speed", "0",
        "--symbols", ",".join(SIM_SYMBOLS), "--record", str(sim),
    ]) == 0
    loose_off = _config(tmp, LOOSE)
    loose_on = _config(tmp, [o for o in LOOSE if not o.startswith("signals.min_reward_risk")])
    plain = _config(tmp, ["risk.max_position_exposure_pct=10"])
    slow = _config(tmp, [*LOOSE, "backtest.latency_ms=2000", "backtest.answer_latency_ms=2000"])
    out = {}
    for sign in (1, -1):
        tag = "+" if sign > 0 else "-"
        btc = {"BTCUSDT": 8.1 * sign}
        out[f"btc{tag} reward/risk off"] = _backtest("btc", btc_file, loose_off, btc)
        # Answers 4 s late: exits that come within seconds of an entry must wait for them.
        out[f"btc{tag} slow answers"] = _backtest("btc", btc_file, slow, btc)
        out[f"btc{tag}"] = _backtest("btc", btc_file, loose_on, btc)
        out[f"sim{tag}"] = _backtest("sim", sim, plain, {s: 5.0 * sign for s in SIM_SYMBOLS})
    return out


def _frames(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def _prints_by_time(path: Path) -> list[tuple[int, int, float, str]]:
    """(the replay's clock, frame number, price, symbol) of every recorded print."""
    out = []
    clock = 0
    for n, frame in enumerate(_frames(path)):
        clock = max(clock, frame["ts"])
        if frame.get("topic", "").startswith("publicTrade."):
            out.extend((clock, n, float(item["p"]), item["s"]) for item in frame["data"])
    return out


# ---- 1. no exit before the fill could be known


def test_no_exit_before_the_fill_could_be_known(runs: dict[str, Run]) -> None:
    checked = 0
    for name, run in runs.items():
        settings = run.config.backtest
        known = settings.latency_ms + settings.answer_latency_ms
        arrived = settings.feed_latency_ms + settings.latency_ms
        for trade in run.data["trades"]:
            hold = _ms(trade["exit_time"]) - _ms(trade["entry_time"])
            if trade["exit_reason"] not in ENGINE_EXITS:
                assert hold >= known, (name, trade)
                checked += 1
            elif trade["exit_reason"] == "stop_loss":
                assert hold >= arrived, (name, trade)
    assert checked >= 10, "too few exits decided by the engine to say anything"


def _ms(stamp: str) -> int:
    from datetime import datetime

    return round(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


# ---- 2. no dynamic take-profit at a net loss before slippage


def _seen_prices(prints: list[tuple[int, int, float, str]], symbol: str, at: int) -> set[float]:
    """The last price of `symbol` the engine can have seen deciding at `at`: after any frame
    stamped `at` (it decides within one), or before the first of them."""
    mine = [(clock, n, price) for clock, n, price, s in prints if s == symbol and clock <= at]
    before = [price for clock, _, price in mine if clock < at]
    seen = {before[-1]} if before else set()
    at_frames: dict[int, float] = {}
    for clock, n, price in mine:
        if clock == at:
            at_frames[n] = price
    seen.update(at_frames.values())
    return seen


def test_no_dynamic_take_profit_closes_at_a_net_loss_before_slippage(
    runs: dict[str, Run],
) -> None:
    checked = 0
    prints: dict[Path, list[tuple[int, int, float, str]]] = {}
    for name, run in runs.items():
        rate = run.config.paper.taker_fee_pct / 100
        for trade in run.data["trades"]:
            if trade["exit_reason"] not in DYNAMIC:
                continue
            if run.path not in prints:
                prints[run.path] = _prints_by_time(run.path)
            sign = 1 if trade["side"] == "Buy" else -1
            entry, qty = trade["entry_price"], trade["qty"]
            seen = _seen_prices(prints[run.path], trade["symbol"], _ms(trade["exit_time"]))
            assert seen, (name, trade)
            for last in seen:
                net = sign * (last - entry) * qty - rate * qty * (entry + last)
                assert net >= 0, (name, trade, last, net)
            checked += 1
    assert checked >= 1, "no dynamic take-profit in any run: the check says nothing"


# ---- 3. no entry with an opposing density inside the reward/risk room


def _ticks(run: Run) -> dict[str, str]:
    if run.name == "btc":
        return {"BTCUSDT": "0.1"}
    return {s: repr(SPECS[s].instrument().tick_size) for s in SIM_SYMBOLS}


def _books_at(run: Run, times: set[int]) -> dict[tuple[str, int], list[Oracle]]:
    """For each (symbol, time): the oracle's book after every frame stamped before `time`,
    and after every frame stamped at or before it (the decision lies between; the replay's
    clock is the largest stamp so far)."""
    ticks = _ticks(run)
    oracles: dict[str, Oracle] = {}
    out: dict[tuple[str, int], list[Oracle]] = {}
    before = sorted(times)
    through = sorted(times)

    def keep(at: int) -> None:
        for symbol, oracle in oracles.items():
            copy = Oracle(oracle.n, ticks[symbol])
            copy.book.bids = dict(oracle.book.bids)
            copy.book.asks = dict(oracle.book.asks)
            out.setdefault((symbol, at), []).append(copy)

    clock = 0
    for frame in _frames(run.path):
        clock = max(clock, frame["ts"])
        while before and clock >= before[0]:
            keep(before.pop(0))
        while through and clock > through[0]:
            keep(through.pop(0))
        if not frame.get("topic", "").startswith("orderbook."):
            continue
        data = frame["data"]
        symbol = data["s"]
        oracle = oracles.get(symbol)
        if oracle is None:
            oracle = oracles[symbol] = Oracle(Numbers.of(run.config, symbol), ticks[symbol])
        oracle.book.apply(frame["type"] == "snapshot", data["b"], data["a"])
    for at in before + through:
        keep(at)
    return out


def _nearest_ahead(oracle: Oracle, trade: dict[str, Any]) -> float | None:
    """Room from the signal's price to the near edge of the nearest qualifying candidate on
    the far side (a fraction of the price), None when there is none ahead."""
    long = trade["side"] == "Buy"
    side = oracle.book.asks if long else oracle.book.bids
    if not oracle.book.bids or not oracle.book.asks:
        return None
    price = trade["signal_price"]
    own = trade["density_price"]
    room = None
    for candidate in oracle.candidates(side):
        if not candidate.qualifies:
            continue
        low = oracle.price(candidate.indices[0])
        high = oracle.price(candidate.indices[-1])
        if low <= own <= high:
            continue
        if long:
            if high <= price:
                continue
            ahead = max(0.0, (low - price) / price)
        else:
            if low >= price:
                continue
            ahead = max(0.0, (price - high) / price)
        room = ahead if room is None else min(room, ahead)
    return room


def _inside_the_room(run: Run, ratio: float) -> list[tuple[dict[str, Any], float, float]]:
    """(trade, room, needed) of every entry with a qualifying opposing candidate nearer than
    `ratio` x its stop distance on both books around its decision."""
    trades = run.data["trades"]
    books = _books_at(run, {_ms(t["entry_time"]) for t in trades})
    inside = []
    for trade in trades:
        price, stop = trade["signal_price"], trade["signal_stop"]
        needed = ratio * abs(price - stop) / price
        rooms = [_nearest_ahead(o, trade) for o in books[trade["symbol"], _ms(trade["entry_time"])]]
        if rooms and all(r is not None and r < needed * (1 - 1e-9) for r in rooms):
            inside.append((trade, min(r for r in rooms if r is not None), needed))
    return inside


@pytest.mark.parametrize("name", ["btc+", "btc-", "sim+", "sim-"])
def test_no_entry_with_an_opposing_density_inside_the_room(
    runs: dict[str, Run], name: str,
) -> None:
    run = runs[name]
    ratio = run.config.strategy("BTCUSDT").signals.min_reward_risk
    assert ratio > 0
    assert _inside_the_room(run, ratio) == []
    if name.startswith("btc"):
        # Every signal of the BTC file has its opposing wall within the room: none entered.
        assert run.data["trades"] == [] and run.data["refused_checks"].get("reward_risk", 0) > 0
    else:
        assert run.data["trades"], f"{name} should trade"


def test_the_room_check_can_tell(runs: dict[str, Run]) -> None:
    """With the reward/risk check off, the entries it would have refused are found."""
    run = runs["btc- reward/risk off"]
    ratio = Config().strategy("BTCUSDT").signals.min_reward_risk
    assert run.data["trades"]
    assert _inside_the_room(run, ratio)
