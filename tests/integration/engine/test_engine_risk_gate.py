"""Every entry rule (DESIGN §5, §7) proven wired: through the real engine on the simulated
market, a confirmed signal meets the state that one rule forbids, and the engine refuses it
naming that rule with its numbers, and sends no order.

The engine runs in semi mode with a real SQLite store and a real paper account (behind the
fault switches of `FaultyExchange`, all off unless a scenario turns one on). A scenario takes a
signal the simulated market produced, changes what it tests (its stop, its age, the engine's
state), confirms it as the trader would, and reads the decision back from the store.
`tests/mutation/run.py` switches each rule off in turn and runs this module: every mutant must
make a test here fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine_rig import Rig, engine_rig, make_config
from faulty_exchange import FaultyExchange
from muted_feed import MutedBooks

from densitytui.market.movers import Movers
from densitytui.model import Decision, MarginMode, Side, Signal
from densitytui.venues.sim import SimMarketData


def semi(db: Path, **sections: dict[str, Any]) -> Any:
    return make_config(db, mode="semi", **sections)


def _tradable(rig: Rig, symbol: str | None = None, avoid: frozenset[str] = frozenset(),
              where: Callable[[Signal], bool] = lambda s: True) -> Signal | None:
    """A pending signal whose minimum order fits the default exposure limit (not BTC)."""
    for signal in rig.engine.signals.values():
        if signal.symbol == "BTCUSDT" or signal.symbol in avoid:
            continue
        if (symbol is None or signal.symbol == symbol) and where(signal):
            return signal
    return None


async def pending(
    rig: Rig, symbol: str | None = None, avoid: frozenset[str] = frozenset(),
    where: Callable[[Signal], bool] = lambda s: True, within_s: float = 900.0,
) -> Signal:
    await rig.until(
        lambda: _tradable(rig, symbol, avoid, where) is not None, "pending signal", within_s,
    )
    signal = _tradable(rig, symbol, avoid, where)
    assert signal is not None
    return signal


async def confirm(
    rig: Rig, signal: Signal, change: Callable[[Signal], Signal] = lambda s: s,
    before: Callable[[Signal], None] = lambda s: None,
) -> tuple[Decision, int]:
    """Confirm `change(signal)` under a new id; its last stored decision and how many orders
    reached the venue meanwhile."""
    engine = rig.engine
    engine.signals.pop(signal.id, None)
    variant = replace(change(signal), id=f"{signal.id}-t{len(rig.events)}")
    engine.signals[variant.id] = variant
    before(variant)
    exchange = rig.exchange
    assert isinstance(exchange, FaultyExchange)
    placed = len(exchange.placed)
    await engine.confirm(variant.id)
    decisions = await rig.store.decisions(variant.id)
    # One decision, made by the checks with the whole picture (none accepted, then undone).
    assert len(decisions) == 1, f"{variant.id}: {[d.outcome for d in decisions]}"
    return decisions[0], len(exchange.placed) - placed


def refused_by(decision: Decision, sent: int, name: str, *numbers: str) -> None:
    """Refused, naming `name` among its failed checks with `numbers` in its detail; no order."""
    failed = {c.name: c.detail for c in decision.checks if not c.passed}
    assert decision.outcome == "refused", f"{name}: {decision.outcome} {decision.checks}"
    assert name in failed, f"{name} not among the refusals {failed}"
    for number in numbers:
        assert number in failed[name], f"{name}: {number!r} not in {failed[name]!r}"
    assert sent == 0, f"{name}: {sent} order(s) reached the venue"


def accepted(decision: Decision, sent: int) -> None:
    failed = [c for c in decision.checks if not c.passed]
    assert decision.outcome == "accepted" and not failed, failed
    assert sent == 1


def _last(rig: Rig, symbol: str) -> float:
    return rig.engine.feed.last_price[symbol]


async def test_signal_level_rules_each_refuse_with_their_numbers(tmp_path: Path) -> None:
    """Scenarios on the default config; each restores what it changed."""
    async with engine_rig(semi(tmp_path / "e.db"), faulty=True) as rig:
        engine = rig.engine

        signal = await pending(rig)
        aged = signal.created_at - signal.ttl_ms - 1
        decision, sent = await confirm(rig, signal, lambda s: replace(s, created_at=aged))
        refused_by(decision, sent, "signal_fresh", "ttl 60 s")

        signal = await pending(rig)
        decision, sent = await confirm(rig, signal, before=lambda s: engine.handled.add(s.id))
        refused_by(decision, sent, "not_handled", "already handled")

        signal = await pending(rig)
        at_price = _last(rig, signal.symbol)
        decision, sent = await confirm(rig, signal, lambda s: replace(s, stop_loss=at_price))
        refused_by(decision, sent, "stop_distance", "is not")

        signal = await pending(rig)
        far = _last(rig, signal.symbol) * 1.05
        decision, sent = await confirm(rig, signal, lambda s: replace(s, entry_price=far))
        refused_by(decision, sent, "entry_deviation", "max 1.000%")

        signal = await pending(rig)
        decision, sent = await confirm(rig, signal, lambda s: replace(s, density_id=-1))
        refused_by(decision, sent, "density_exists", "gone")

        signal = await pending(rig)
        tick = engine.instruments[signal.symbol].tick_size
        off_tick = signal.stop_loss + (tick * 0.37 if signal.side is Side.SELL else -tick * 0.37)
        decision, sent = await confirm(rig, signal, lambda s: replace(s, stop_loss=off_tick))
        refused_by(decision, sent, "stop_on_tick", "is not a multiple of tick")

        signal = await pending(rig)
        movers = engine.housekeeper.movers
        decision, sent = await confirm(
            rig, signal, before=lambda s: setattr(engine.housekeeper, "movers", Movers((), ())),
        )
        engine.housekeeper.movers = movers
        refused_by(decision, sent, "symbol_mover", "no longer a mover")

        signal = await pending(rig)
        decision, sent = await confirm(
            rig, signal, before=lambda s: engine.market.invalidate(s.symbol, engine.clock_ms()),
        )
        refused_by(decision, sent, "book_valid", "book invalid")

        signal = await pending(rig)
        decision, sent = await confirm(
            rig, signal, lambda s: replace(s, symbol="NOSUCHUSDT"),
        )
        refused_by(decision, sent, "instrument_known", "NOSUCHUSDT has no instrument")

        signal = await pending(rig)
        balance = engine.housekeeper.balance
        decision, sent = await confirm(
            rig, signal, before=lambda s: setattr(engine.housekeeper, "balance", None),
        )
        engine.housekeeper.balance = balance
        refused_by(decision, sent, "balance_known", "no balance")

        # The state between the kill switch firing and close-all switching to manual mode.
        signal = await pending(rig)
        decision, sent = await confirm(
            rig, signal, before=lambda s: setattr(engine.safety, "killed_at", engine.clock_ms()),
        )
        engine.safety.killed_at = None
        refused_by(decision, sent, "kill_switch", "drawdown from the peak", "10%")

        signal = await pending(rig)
        exchange = rig.exchange
        assert isinstance(exchange, FaultyExchange)
        decision, sent = await confirm(
            rig, signal, before=lambda s: setattr(exchange, "problem_text", "REST banned (10006)"),
        )
        exchange.problem_text = None
        refused_by(decision, sent, "venue_ok", "REST banned (10006)")

        signal = await pending(rig)
        await engine.pause_entries(True)
        decision, sent = await confirm(rig, signal)
        await engine.pause_entries(False)
        refused_by(decision, sent, "entries_not_paused", "paused by the trader")

        # The same signal confirmed twice at once: the second meets the first in flight.
        signal = await pending(rig)
        decision, sent = await confirm(
            rig, signal, before=lambda s: engine.positions.busy.add(s.symbol),
        )
        engine.positions.busy.discard(signal.symbol)
        refused_by(decision, sent, "no_order_in_flight", "in flight")

        # With nothing changed, the same path enters: the refusals above are the rules'. The
        # same signal again at once (under another id) meets the position it opened.
        signal = await pending(rig)
        first = replace(signal, id=f"{signal.id}-first")
        engine.signals.pop(signal.id, None)
        engine.signals[first.id] = first
        await engine.confirm(first.id)
        assert signal.symbol in engine.trades
        decision, sent = await confirm(rig, signal)
        refused_by(decision, sent, "no_position", "already open")
        accepted((await rig.store.decisions(first.id))[-1], 1)


async def test_a_wall_just_ahead_is_refused_for_reward_risk(tmp_path: Path) -> None:
    """A bounce's own wall, turned into the wall ahead: the signal's side is flipped (its stop
    mirrored below price), so the ask wall it bounced off stands just above a long, far
    closer than twice the stop distance."""
    async with engine_rig(semi(tmp_path / "e.db"), faulty=True) as rig:
        engine = rig.engine
        signal = await pending(rig, where=lambda s: s.side is Side.SELL and s.kind.value == "bounce")
        price = _last(rig, signal.symbol)
        tick = engine.instruments[signal.symbol].tick_size
        below = round((2 * price - signal.stop_loss) / tick) * tick

        def long(s: Signal) -> Signal:
            return replace(s, side=Side.BUY, stop_loss=below, density_id=-1)

        decision, sent = await confirm(rig, signal, long)
        refused_by(decision, sent, "reward_risk", "2 x stop")


async def test_account_limits_each_refuse_with_their_numbers(tmp_path: Path) -> None:
    """One open position, then: max positions 1, total exposure 1.5 % of equity."""
    config = semi(tmp_path / "e.db", risk={"max_positions": 1})
    async with engine_rig(config, faulty=True) as rig:
        first = await pending(rig)
        accepted(*await confirm(rig, first))
        other = await pending(rig, avoid=frozenset({first.symbol}))
        decision, sent = await confirm(rig, other)
        refused_by(decision, sent, "max_positions", "open 1 >= max 1")

    config = semi(tmp_path / "t.db", risk={"max_total_exposure_pct": 1.5})
    async with engine_rig(config, faulty=True) as rig:
        first = await pending(rig)
        accepted(*await confirm(rig, first))
        other = await pending(rig, avoid=frozenset({first.symbol}))
        decision, sent = await confirm(rig, other)
        refused_by(decision, sent, "total_exposure", "max 2%")


async def test_sizing_limits_each_refuse_with_their_numbers(tmp_path: Path) -> None:
    async with engine_rig(
        semi(tmp_path / "p.db", risk={"position_notional_usdt": 100.0}), faulty=True,
    ) as rig:
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "position_exposure", "max 5%")

    async with engine_rig(
        semi(tmp_path / "b.db", risk={"min_balance_usdt": 5000.0}), faulty=True,
    ) as rig:
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "min_balance", "equity 1000.00 < min 5000 USDT")

    # Margin at 1x for 95 % of the equity, plus a 5 % taker fee on both legs, is more than
    # is there, within the exposure limits.
    risk = {
        "position_notional_usdt": 950.0, "max_position_exposure_pct": 100.0,
        "max_total_exposure_pct": 100.0, "leverage": 1.0,
    }
    config = semi(tmp_path / "a.db", risk=risk, paper={"taker_fee_pct": 5.0})
    async with engine_rig(config, faulty=True) as rig:
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "available_balance", "(margin at 1x + fees)")

    # A risk so small that no order of the instrument's minimum size fits it: qty 0.
    risk = {"risk_per_trade_pct": 0.0001}
    async with engine_rig(semi(tmp_path / "r.db", risk=risk), faulty=True) as rig:
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "sizing", "< instrument minimum")
        refused_by(decision, sent, "qty_valid", "qty 0 is not positive")
        refused_by(decision, sent, "min_notional", "notional 0.00 < min")


async def test_a_disabled_symbol_is_refused(tmp_path: Path) -> None:
    from densitytui.venues.sim.instruments import SPECS

    symbols = {symbol: {"enabled": False} for symbol in SPECS}
    config = semi(tmp_path / "e.db", symbols=symbols)
    async with engine_rig(config, faulty=True) as rig:
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "symbol_enabled", "disabled in config")


async def test_a_store_that_fails_refuses_entries_naming_the_store(tmp_path: Path) -> None:
    async with engine_rig(semi(tmp_path / "e.db"), faulty=True) as rig:
        signal = await pending(rig)
        exchange = rig.exchange
        assert isinstance(exchange, FaultyExchange)
        await rig.store.close()
        rig.engine.signals.pop(signal.id, None)
        rig.engine.signals[signal.id] = signal
        placed = len(exchange.placed)
        await rig.engine.confirm(signal.id)
        refusals = [e.message for e in rig.events if e.kind == "refused"]
        name = "store_ok"
        assert refusals and f"{name} (store unavailable:" in refusals[-1], refusals
        assert len(exchange.placed) == placed


async def test_a_cross_margin_account_is_refused_naming_the_margin_mode(tmp_path: Path) -> None:
    async def cross(rig: Rig) -> None:
        assert isinstance(rig.exchange, FaultyExchange)
        rig.exchange.margin = MarginMode.REGULAR

    async with engine_rig(semi(tmp_path / "e.db"), faulty=True, before_start=cross) as rig:
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "margin_mode", "switch it to isolated")


async def test_a_symbol_whose_book_stops_is_stale_though_its_trades_go_on(tmp_path: Path) -> None:
    """DESIGN §7: per symbol, no book message for `stale_data_s` makes it stale; trades and
    the other symbols' books do not refresh it (defect 2: one global timer did)."""
    muted: list[MutedBooks] = []

    def feed(data: SimMarketData) -> MutedBooks:
        muted.append(MutedBooks(data))
        return muted[0]

    config = semi(tmp_path / "e.db", risk={"stale_data_s": 5.0})
    async with engine_rig(config, faulty=True, feed=feed) as rig:
        signal = await pending(rig)
        symbol = signal.symbol
        engine = rig.engine
        rig.engine.signals.pop(signal.id, None)
        muted[0].muted.add(symbol)
        await rig.run_for(6)
        assert muted[0].dropped > 0 and muted[0].trades > 0, "books stopped, trades went on"
        assert engine.feed.book_age(symbol, engine.receive_ms()) > 5000
        assert engine.feed.data_age(engine.receive_ms()) < 1000, "the other books went on"
        now = engine.clock_ms()
        decision, sent = await confirm(rig, signal, lambda s: replace(s, created_at=now))
        refused_by(decision, sent, "data_fresh", "stale after 5 s")


async def test_the_daily_loss_limit_counts_open_losses_and_holds_for_the_day(
    tmp_path: Path,
) -> None:
    """Defect 1: the day's loss counts the open positions' unrealized loss, and once it
    reaches the limit entries stay refused until the next UTC day, though the day's realized
    PnL ends above the limit. No fees here, so only prices move the PnL."""
    limit_pct = 0.001  # 0.01 USDT of 1,000
    config = semi(
        tmp_path / "e.db", risk={"daily_loss_limit_pct": limit_pct, "reentry_cooldown_s": 0},
        paper={"taker_fee_pct": 0.0},
    )
    async with engine_rig(config, faulty=True) as rig:
        engine = rig.engine
        signal = await pending(rig)
        accepted(*await confirm(rig, signal))
        trade = engine.trades[signal.symbol]
        limit = limit_pct / 100 * 1000.0
        await rig.until(
            lambda: "daily_loss_limit" in rig.kinds() or signal.symbol not in engine.trades,
            "the open position's loss reaching the limit", 600,
        )
        assert "daily_loss_limit" in rig.kinds(), "closed before its loss reached the limit"
        assert engine.safety.day_realized_pnl == 0.0, "tripped by the open position alone"
        # While it is open, a refusal shows its loss as the venue reports it.
        other = await pending(rig, avoid=frozenset({signal.symbol}))
        balance = engine.balance
        assert balance is not None and balance.unrealized_pnl <= -limit + 1e-6
        decision, sent = await confirm(rig, other)
        refused_by(decision, sent, "daily_loss", f"unrealized {balance.unrealized_pnl:+.2f}")
        # Close it once it has won back most of that loss (or at once if it already has).
        await rig.until(
            lambda: trade.position.unrealized_pnl > -limit / 2
            or signal.symbol not in engine.trades, "a recovery", 600,
        )
        if signal.symbol in engine.trades:
            await engine.close_position(signal.symbol)
        await rig.until(lambda: signal.symbol not in engine.trades, "the close", 60)
        assert -engine.safety.day_realized_pnl < limit, "the day's realized loss is under it"
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "daily_loss", "no entries until the next UTC day")


async def test_a_realized_loss_reaching_the_limit_refuses_with_the_days_numbers(
    tmp_path: Path,
) -> None:
    """A round trip at a 5 % taker fee loses about 1 USDT on 10: beyond a limit of 0.5 USDT.
    The refusal shows the day's realized PnL as the store has it."""
    config = semi(
        tmp_path / "e.db", risk={"daily_loss_limit_pct": 0.05, "reentry_cooldown_s": 0},
        paper={"taker_fee_pct": 5.0},
    )
    async with engine_rig(config, faulty=True) as rig:
        engine = rig.engine
        signal = await pending(rig)
        accepted(*await confirm(rig, signal))
        await engine.close_position(signal.symbol)
        await rig.until(lambda: signal.symbol not in engine.trades, "the close", 60)
        closed = await rig.store.closed_positions(10)
        realized = sum(p.realized_pnl for p in closed)
        assert realized < -0.5
        decision, sent = await confirm(rig, await pending(rig))
        refused_by(decision, sent, "daily_loss", f"realized {realized:+.2f}", "limit 0.50 USDT")


async def test_after_a_close_the_symbol_waits_out_its_cooldown(tmp_path: Path) -> None:
    """Defect 5: auto mode re-entered a symbol 2 s after the trader closed it by hand."""
    async with engine_rig(semi(tmp_path / "e.db"), faulty=True) as rig:
        engine = rig.engine
        signal = await pending(rig)
        accepted(*await confirm(rig, signal))
        await engine.close_position(signal.symbol)
        await rig.until(lambda: signal.symbol not in engine.trades, "the close", 60)
        now = engine.clock_ms()
        decision, sent = await confirm(rig, signal, lambda s: replace(s, created_at=now))
        refused_by(decision, sent, "cooldown", "cooldown 60 s")


async def test_no_entry_leaves_after_a_pause_is_acknowledged(tmp_path: Path) -> None:
    """Defect 5: an entry whose checks passed before "entries paused" must not be sent after
    it: the pause is checked again just before the order leaves."""
    async with engine_rig(semi(tmp_path / "e.db"), faulty=True) as rig:
        engine = rig.engine
        exchange = rig.exchange
        assert isinstance(exchange, FaultyExchange)
        signal = await pending(rig)
        placed = len(exchange.placed)
        entry = asyncio.create_task(engine.confirm(signal.id))
        await asyncio.sleep(0)  # the entry's checks passed; its journal write is under way
        await engine.pause_entries(True)
        assert rig.kinds()[-1] == "paused"
        await entry
        assert len(exchange.placed) == placed, "an order left after the pause"
        decisions = await rig.store.decisions(signal.id)
        refused_by(decisions[-1], 0, "entries_not_paused", "after the checks")
        assert signal.symbol not in engine.trades


async def test_stop_losses_in_a_row_pause_entries(tmp_path: Path) -> None:
    """With a streak of one, the stop-loss that just closed a position (as the engine counts
    it) pauses entries on every symbol for the pause."""
    config = semi(tmp_path / "e.db", risk={"stop_streak_count": 1})
    async with engine_rig(config, faulty=True) as rig:
        engine = rig.engine
        signal = await pending(rig)
        engine.safety.on_closed("ELSEUSDT", -0.01, "stop_loss", engine.clock_ms())
        decision, sent = await confirm(rig, signal)
        refused_by(decision, sent, "stop_streak", "1 stops within 30 min", "paused for 30.0")


async def test_a_risen_equity_peak_is_stored_without_waiting_for_a_close(
    tmp_path: Path,
) -> None:
    """Defect 4: the peak was stored only at a close, a kill or a mode change; a crash lost
    the rise. It is stored whenever it rises (at most every 10 s of market time)."""
    config = semi(tmp_path / "e.db", paper={"taker_fee_pct": 0.0})
    async with engine_rig(config, faulty=True) as rig:
        engine = rig.engine
        start = engine.safety.equity_peak
        accepted(*await confirm(rig, await pending(rig)))
        await rig.until(lambda: engine.safety.equity_peak > start + 0.001, "a new peak", 1800)
        risen = engine.safety.equity_peak
        closes = rig.kinds().count("closed")
        await rig.run_for(11)
        stored = await rig.store.get_state("safety:sim")
        assert isinstance(stored, dict)
        assert rig.kinds().count("closed") == closes or stored["equity_peak"] >= risen
        assert stored["equity_peak"] >= risen, (stored["equity_peak"], risen)


def test_the_scenarios_name_every_check_the_gate_has() -> None:
    """Each check the risk gate can refuse with is asserted by a scenario in this module."""
    from densitytui.engine.risk import ALL_CHECKS

    source = Path(__file__).read_text()
    missing = [name for name in ALL_CHECKS if f'"{name}"' not in source]
    assert not missing, f"no scenario refuses by {missing}"


