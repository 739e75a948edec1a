"""Density detector and tracker: each criterion, clusters, hysteresis, eaten versus pulled.

Books are small and synthetic: tick 0.1 around 100, a 1,000 USDT threshold (so a wall is about
10 lots and a wall level at least 7.5), bids 99.0-99.9 and asks 100.1-101.0 of 1 lot each.
"""

from __future__ import annotations

import pytest

from densitytui.market.book import OrderBook
from densitytui.market.densities import DensityRules, DensityTracker
from densitytui.model import BookSide, Density, DensityEvent, DensityEventKind, DensityOutcome
from tests.prints import trade

BIDS = [f"{99 + i / 10:.1f}" for i in range(10)]
ASKS = [f"{100.1 + i / 10:.1f}" for i in range(10)]
APPEARED = DensityEventKind.APPEARED
GONE = DensityEventKind.GONE


def rules(**overrides: float) -> DensityRules:
    numbers = {"min_notional": 1000.0, "min_lifetime_s": 10.0, "trade_match_s": 1.0}
    numbers.update(overrides)
    return DensityRules(**numbers)  # type: ignore[arg-type]


class Market:
    """A book and its tracker, fed with Bybit-shaped levels; time advances 100 ms a message."""

    def __init__(self, density_rules: DensityRules | None = None, depth: int = 0,
                 bids: dict[str, str] | None = None, asks: dict[str, str] | None = None) -> None:
        self.book = OrderBook("TESTUSDT", depth)
        self.tracker = DensityTracker(self.book, density_rules or rules(), tick=0.1)
        self.u = 1
        self.ts = 1_000
        bid_levels = dict.fromkeys(BIDS, "1") | (bids or {})
        ask_levels = dict.fromkeys(ASKS, "1") | (asks or {})
        self.book.apply(True, list(map(list, bid_levels.items())),
                        list(map(list, ask_levels.items())), self.u, 0, self.ts)
        self.tracker.on_book(self.ts, self.ts, snapshot=True)
        self.initial = self.take()

    def delta(self, bids: dict[str, str] | None = None, asks: dict[str, str] | None = None,
              ts: int | None = None) -> list[DensityEvent]:
        self.u += 1
        self.ts = ts if ts is not None else self.ts + 100
        self.book.apply(False, [[p, s] for p, s in (bids or {}).items()],
                        [[p, s] for p, s in (asks or {}).items()], self.u, 0, self.ts)
        self.tracker.on_book(self.ts, self.ts)
        return self.take()

    def trades(self, *prints: tuple[int, float, float, bool], ts: int | None = None,
               ) -> list[DensityEvent]:
        self.ts = ts if ts is not None else max(p[0] for p in prints)
        self.tracker.on_prints([trade(*p) for p in prints], self.ts)
        return self.take()

    def take(self) -> list[DensityEvent]:
        events = list(self.tracker.events)
        self.tracker.events.clear()
        return events

    def only(self) -> Density:
        (density,) = self.tracker.densities()
        return density


def kinds(events: list[DensityEvent]) -> list[DensityEventKind]:
    return [e.kind for e in events]


# ---- criteria --------------------------------------------------------------------------------


def test_absolute_criterion_needs_the_full_threshold() -> None:
    market = Market()
    assert market.delta({"99.5": "9"}) == []  # 895.5 USDT: every other criterion passes
    events = market.delta({"99.5": "11"})  # 1,094.5 USDT
    assert kinds(events) == [APPEARED]
    density = events[0].density
    assert (density.side, density.price, density.size, density.levels) == (
        BookSide.BID, 99.5, 11.0, 1,
    )
    assert events[0].ts == market.ts


def test_relative_criterion_compares_with_the_nearest_levels_and_is_judged_again_when_they_shrink(
) -> None:
    neighbours = {"99.3": "5", "99.4": "5", "99.6": "5", "99.7": "5", "99.2": "5"}
    market = Market(bids=neighbours)
    assert market.delta({"99.5": "12"}) == []  # 12 < 3 x mean 5
    # The candidate itself does not change: its neighbours do (mean 3.4, and 12 >= 10.2).
    events = market.delta({"99.3": "1", "99.4": "1"})
    assert kinds(events) == [APPEARED]
    assert market.only().price == 99.5


def test_relative_criterion_uses_relative_factor() -> None:
    market = Market(rules(relative_factor=20.0))
    assert market.delta({"99.5": "15"}) == []
    assert kinds(market.delta({"99.5": "25"})) == [APPEARED]


def test_share_criterion_and_a_later_fall_of_the_side_volume() -> None:
    far = {f"98.{i}": "40" for i in range(10)}  # a thick block of equal levels, no wall
    market = Market(bids=far)
    assert market.tracker.densities() == []
    assert market.delta({"99.5": "15"}) == []  # 15 < 5 % of 424
    # The candidate is untouched; the side thins out until it holds 5 %.
    events = market.delta({p: "0" for p in far})
    assert kinds(events) == [APPEARED]
    assert market.only().size == 15.0


def test_distance_criterion_and_a_later_move_of_mid() -> None:
    market = Market(bids={"97.5": "30"})  # 2.5 % below mid 100
    assert market.tracker.densities() == []
    # Price falls: mid 98.95; the wall at 97.5 is now 1.47 % away.
    moves = {p: "0" for p in BIDS} | {f"98.{i}": "1" for i in range(10)}
    asks = {p: "0" for p in ASKS} | {f"{99 + i / 10:.1f}": "1" for i in range(10)}
    events = market.delta(moves, asks)
    assert kinds(events) == [APPEARED]
    assert market.only().price == 97.5


def test_a_far_density_leaves_when_mid_moves_away_untested_or_held() -> None:
    market = Market(bids={"98.5": "30"})
    assert kinds(market.initial) == [APPEARED]
    assert market.only().price == 98.5
    asks = {p: "0" for p in ASKS} | {"101.5": "1"}
    bids = {p: "0" for p in BIDS} | {"101.4": "1"}
    (event,) = market.delta(bids, asks)  # mid 101.45: 98.5 is 2.9 % away
    assert (event.kind, event.outcome) == (GONE, DensityOutcome.OUT_OF_RANGE)

    tested = Market(bids={"98.5": "30"})
    tested.trades((tested.ts + 10, 98.6, 0.1, False))  # a trade within 0.2 %
    assert tested.only().tested_at == tested.ts
    (event,) = tested.delta(bids, asks)
    assert (event.kind, event.outcome) == (GONE, DensityOutcome.HELD)


# ---- clusters --------------------------------------------------------------------------------


def test_wall_levels_on_neighbouring_ticks_are_one_density_priced_at_its_anchor_level() -> None:
    market = Market()
    events = market.delta({"99.4": "8", "99.5": "12"})  # 796 and 1,194 USDT
    assert kinds(events) == [APPEARED]
    density = events[0].density
    assert (density.levels, density.size) == (2, 20.0)
    # The published price is a real level (the largest), never the weighted 99.46.
    assert (density.price, density.price_low, density.price_high) == (99.5, 99.4, 99.5)


def test_a_single_level_density_spans_its_own_price() -> None:
    market = Market()
    (event,) = market.delta({"99.5": "12"})
    assert (event.density.price, event.density.price_low, event.density.price_high) == (
        99.5, 99.5, 99.5,
    )


def test_the_distance_criterion_judges_a_cluster_at_its_weighted_price() -> None:
    # Mid is 100.0. The anchor 98.1 alone is 1.9 % away, but the cluster's weighted price
    # (about 97.95) is beyond 2 %: the cluster is judged as one, so it is no density.
    far = {"98.1": "20", "98.0": "19", "97.9": "19", "97.8": "19"}
    assert Market(rules(cluster_range_pct=0.5), bids=far).tracker.densities() == []
    # The anchor on its own passes.
    alone = Market(rules(cluster_range_pct=0.5), bids={"98.1": "20"})
    assert [d.price for d in alone.tracker.densities()] == [98.1]


def test_a_cluster_needs_only_its_sum_to_reach_the_threshold() -> None:
    market = Market()
    events = market.delta({"99.4": "8", "99.5": "8"})  # 796 each, 1,592 together
    assert kinds(events) == [APPEARED]
    assert events[0].density.levels == 2


def test_a_run_wider_than_cluster_range_is_judged_level_by_level() -> None:
    market = Market(rules(cluster_range_pct=0.05))  # 0.05 at 100: two ticks are too wide
    assert market.delta({"99.4": "8", "99.5": "8"}) == []


def test_a_capped_density_becomes_a_cluster_once_its_run_fits_the_range() -> None:
    # 0.25 % of 99.5 holds three ticks, not four.
    market = Market(rules(cluster_range_pct=0.25))
    events = market.delta({"99.3": "8", "99.4": "8", "99.5": "20", "99.6": "8"})
    assert kinds(events) == [APPEARED]
    assert (market.only().price, market.only().levels) == (99.5, 1)
    identity = market.only().id
    market.delta({"99.3": "1"})
    density = market.only()
    assert (density.id, density.levels, density.size) == (identity, 3, 36.0)


def test_levels_apart_by_more_than_a_tick_are_separate_densities() -> None:
    market = Market()
    events = market.delta({"99.3": "12", "99.6": "12"})
    assert sorted(e.density.price for e in events) == [99.3, 99.6]


def test_a_cluster_keeps_its_identity_when_its_anchor_goes() -> None:
    market = Market()
    market.delta({"99.4": "8", "99.5": "12"})
    identity = market.only().id
    events = market.delta({"99.5": "1"})  # the anchor is no wall level any more
    assert kinds(events) == [DensityEventKind.CHANGED]
    density = market.only()
    assert (density.id, density.price, density.size, density.levels) == (identity, 99.4, 8.0, 1)


def test_a_new_wall_level_beside_a_density_joins_it() -> None:
    market = Market()
    market.delta({"99.5": "12"})
    identity = market.only().id
    events = market.delta({"99.6": "9"})
    assert kinds(events) == [DensityEventKind.CHANGED]
    density = market.only()
    assert (density.id, density.levels, density.size) == (identity, 2, 21.0)


def test_a_new_wall_level_beside_a_density_stands_on_its_own_with_clusters_off() -> None:
    # Defect 1: the 30-lot level was handed to the density at 99.5, which came out capped to
    # its anchor, and the new level was never judged.
    market = Market(rules(cluster_range_pct=0.0))
    market.delta({"99.5": "12"})
    events = market.delta({"99.6": "30"})
    assert [(e.kind, e.density.price) for e in events] == [(APPEARED, 99.6)]
    assert {d.price for d in market.tracker.densities()} == {99.5, 99.6}
    # A snapshot of the same book finds the new wall too (not 99.5: beside a 30-lot level it
    # fails the relative criterion, which a tracked density need not pass again).
    snapshot = Market(rules(cluster_range_pct=0.0), bids={"99.5": "12", "99.6": "30"})
    assert {d.price for d in snapshot.tracker.densities()} == {99.6}


def test_a_new_wall_level_beside_a_density_stands_on_its_own_when_the_run_is_too_wide() -> None:
    market = Market(rules(cluster_range_pct=0.05))  # two ticks are wider than 0.05 %
    market.delta({"99.5": "12"})
    assert kinds(market.delta({"99.6": "30"})) == [APPEARED]
    assert {(d.price, d.levels) for d in market.tracker.densities()} == {(99.5, 1), (99.6, 1)}


def test_a_run_that_stops_fitting_frees_its_levels_to_be_judged_alone() -> None:
    # 0.15 % of 99.3 is 1.49: the run 99.3-99.5 fits, 99.3-99.9 (six ticks) does not.
    market = Market(bids={"99.4": "8", "99.5": "12"})
    (cluster,) = market.tracker.densities()
    assert cluster.levels == 2
    market.delta({"99.6": "8", "99.7": "8", "99.8": "8", "99.9": "40"})
    live = {d.price: d for d in market.tracker.densities()}
    # The density keeps its anchor alone; the wide run's big level stands on its own.
    assert live[99.5].id == cluster.id and live[99.5].levels == 1
    assert 99.9 in live and live[99.9].levels == 1


def test_levels_freed_by_a_shrinking_run_are_judged_as_a_cluster_again() -> None:
    # Six wall levels are too wide to cluster, and none passes alone (each 8 lots, 796 USDT).
    wide = {f"99.{i}": "8" for i in range(4, 10)}
    market = Market(bids=wide)
    assert market.tracker.densities() == []
    # One end leaves: 99.5-99.9 still does not fit (0.4 > 0.149); two leave: 99.6-99.9 no;
    # then 99.8-99.9 fits, and that pair (1,597 USDT) passes as one.
    market.delta({"99.4": "0", "99.5": "0", "99.6": "0"})
    assert market.tracker.densities() == []
    events = market.delta({"99.7": "1"})
    assert kinds(events) == [APPEARED]
    assert (market.only().price_low, market.only().price_high) == (99.8, 99.9)


def test_a_new_level_that_makes_a_run_too_wide_frees_every_level_of_the_piece_it_joined() -> None:
    # Mid 100.05, so 2 % reaches down to 98.049. The pair 98.0 (30) + 98.1 (25) fits 0.15 %
    # and fails as one: its weighted price, 98.045, is 2.005 % away. A new wall level at 97.9
    # (not beside 98.1) makes the run 97.9-98.1 too wide: each level is judged alone, and 98.1
    # passes (25 >= 3 x mean(30, 8, 1, 1, 1)).
    market = Market(bids={"98.0": "30", "98.1": "25"},
                    asks={"100.1": "0", "100.2": "1"})
    assert market.tracker.densities() == []
    events = market.delta({"97.9": "8"})
    assert [(e.kind, e.density.price, e.density.levels) for e in events] == [(APPEARED, 98.1, 1)]


# ---- ticks -----------------------------------------------------------------------------------


def test_equally_distant_neighbours_are_a_true_tie_in_ticks() -> None:
    # Defect 6: at 61629.3 the float distances to the levels three ticks away are
    # 0.3000000000029 below and 0.2999999999956 above; in ticks both are 3, and the tie goes
    # to the lower price. Its 5 nearest: four of 0.1 and the 20-lot level three ticks below:
    # mean 4.08, and 10 < 3 x 4.08, so the wall fails the relative criterion.
    book = OrderBook("BTCUSDT")
    tracker = DensityTracker(book, rules(min_notional=50_000.0, cluster_range_pct=0.0), tick=0.1)
    bids = [["61629.0", "20"], ["61629.1", "0.1"], ["61629.2", "0.1"], ["61629.3", "10"],
            ["61629.4", "0.1"], ["61629.5", "0.1"], ["61629.6", "0.001"]]
    asks = [["61629.7", "0.1"]]
    book.apply(True, bids, asks, 1, 0, 1_000)
    tracker.on_book(1_000, 1_000, snapshot=True)
    assert 61629.3 not in {d.price for d in tracker.densities()}
    assert 61629.0 in {d.price for d in tracker.densities()}


def test_the_tick_guess_looks_near_the_touch_on_both_sides() -> None:
    book = OrderBook("TESTUSDT")
    tracker = DensityTracker(book, rules())
    # Seventy deep bids a unit apart, then bids on every 0.01 tick at the touch; asks every 0.05.
    bids = [[f"{20 + i}", "1"] for i in range(70)]
    bids += [[f"{99.9 + i / 100:.2f}", "1"] for i in range(10)]
    asks = [[f"{100 + i / 20:.2f}", "1"] for i in range(10)]
    book.apply(True, bids, asks, 1, 0, 1_000)
    tracker.on_book(1_000, 1_000, snapshot=True)
    assert tracker.tick == 0.01


def test_the_instrument_tick_beats_the_guess() -> None:
    book = OrderBook("TESTUSDT")
    tracker = DensityTracker(book, rules())
    tracker.set_tick(0.001)
    bids = [[f"{99 + i / 10:.1f}", "1"] for i in range(10)]
    book.apply(True, bids, [["100.1", "1"]], 1, 0, 1_000)
    tracker.on_book(1_000, 1_000, snapshot=True)
    assert tracker.tick == 0.001


def test_a_new_instrument_tick_regroups_the_levels_at_once() -> None:
    # On a 0.2 grid, 99.4 and 99.6 are neighbours: one cluster of 1,592 USDT (a tick is 0.2 %,
    # within a cluster range of 0.5 %). Taken for 0.1, they are two levels of 796 USDT each,
    # and neither passes.
    book = OrderBook("TESTUSDT")
    tracker = DensityTracker(book, rules(cluster_range_pct=0.5), tick=0.1)
    bids = [[f"{99 + i / 5:.1f}", "1"] for i in range(5)] + [["99.4", "8"], ["99.6", "8"]]
    book.apply(True, bids, [["100.2", "1"], ["100.4", "1"]], 1, 0, 1_000)
    tracker.on_book(1_000, 1_000, snapshot=True)
    assert tracker.densities() == []
    tracker.set_tick(0.2)
    (density,) = tracker.densities()
    assert (density.price_low, density.price_high, density.levels) == (99.4, 99.6, 2)


# ---- frozen books ----------------------------------------------------------------------------


def test_a_frozen_book_flags_its_densities_and_confirms_none() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=5_000)
    market.tracker.set_frozen(True, 6_000)
    (changed,) = market.take()
    assert (changed.kind, changed.density.frozen) == (DensityEventKind.CHANGED, True)
    assert market.only().frozen
    # Its min_lifetime passes while frozen: no confirmation.
    assert market.trades((15_500, 100.5, 0.1, True), ts=15_500) == []
    assert not market.only().confirmed
    # The healing snapshot at 16,000: a full min_lifetime from there.
    market.tracker.set_frozen(False, 16_000)
    (changed,) = market.take()
    assert changed.density.frozen is False and not market.only().frozen
    assert market.trades((25_900, 100.5, 0.1, True), ts=25_900) == []
    (confirmed,) = market.trades((26_000, 100.5, 0.1, True), ts=26_000)
    assert (confirmed.kind, confirmed.ts) == (DensityEventKind.CONFIRMED, 26_000)
    assert market.only().first_seen == 5_000


def test_a_density_confirmed_before_the_freeze_stays_confirmed() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=5_000)
    market.trades((15_000, 100.5, 0.1, True), ts=15_000)
    assert market.only().confirmed
    market.tracker.set_frozen(True, 16_000)
    assert market.only().frozen and market.only().confirmed
    market.tracker.set_frozen(False, 17_000)
    assert not market.only().frozen and market.only().confirmed


def test_a_density_that_appears_while_frozen_is_flagged_and_waits() -> None:
    market = Market()
    market.tracker.set_frozen(True, 1_500)
    (appeared,) = market.delta({"99.5": "12"}, ts=2_000)
    assert appeared.density.frozen
    market.tracker.set_frozen(False, 3_000)
    market.take()
    assert market.trades((12_900, 100.5, 0.1, True), ts=12_900) == []
    assert kinds(market.trades((13_000, 100.5, 0.1, True), ts=13_000)) == [
        DensityEventKind.CONFIRMED,
    ]


# ---- hysteresis and lifecycle ----------------------------------------------------------------


def test_hysteresis_keeps_a_density_down_to_keep_fraction_of_the_threshold() -> None:
    market = Market()
    market.delta({"99.5": "12"})
    market.delta({"99.5": "8"})  # 796 USDT: below the threshold, above 75 % of it
    assert market.only().size == 8.0
    market.delta({"99.5": "7"})  # 696.5 USDT
    assert market.tracker.densities() == []


def test_share_and_relative_are_not_checked_again_once_tracked() -> None:
    market = Market()
    market.delta({"99.5": "12"})
    # A giant level beside it: 12 is no longer 5 % of the side nor 3x its neighbours' mean.
    market.delta({"99.7": "500", "99.6": "300"})
    assert 99.5 in {d.price for d in market.tracker.densities()}


def test_confirmation_after_min_lifetime_in_message_time() -> None:
    market = Market()
    (appeared,) = market.delta({"99.5": "12"}, ts=5_000)
    assert appeared.density.confirmed_at is None
    assert market.trades((14_990, 100.5, 0.1, True), ts=14_999) == []
    (confirmed,) = market.trades((15_000, 100.5, 0.1, True), ts=15_000)
    assert confirmed.kind is DensityEventKind.CONFIRMED
    assert confirmed.ts == 15_000
    assert market.only().confirmed


def test_revision_moves_with_what_can_signal_and_only_then() -> None:
    market = Market()
    tracker = market.tracker
    start = tracker.revision
    market.delta({"99.5": "12"}, ts=5_000)
    appeared = tracker.revision
    assert appeared > start
    market.delta({"99.5": "11"}, ts=5_100)  # a size change: the same densities
    market.trades((5_150, 100.5, 0.1, True), ts=5_150)
    assert tracker.revision == appeared
    market.trades((15_100, 100.5, 0.1, True), ts=15_100)  # confirmed
    confirmed = tracker.revision
    assert confirmed > appeared
    tracker.set_frozen(True, 15_200)
    tracker.set_frozen(False, 15_300)
    assert kinds(market.take()) == [DensityEventKind.CHANGED] * 2
    thawed = tracker.revision
    assert thawed >= confirmed + 2
    # Its walls go: no longer live at once, though its gone event waits for late trades.
    assert market.delta({"99.5": "0"}, ts=15_400) == []
    assert tracker.densities() == []
    assert tracker.revision > thawed


def test_changed_is_reported_on_material_size_changes_only() -> None:
    market = Market()
    market.delta({"99.5": "20"})
    assert market.delta({"99.5": "19"}) == []  # 5 %
    (event,) = market.delta({"99.5": "17"})  # 15 % below the last report
    assert event.kind is DensityEventKind.CHANGED
    assert event.density.size == 17.0


def test_a_level_that_scrolls_out_of_a_full_depth_window_is_not_a_cancel() -> None:
    market = Market(depth=10, bids={"99.0": "15"})  # the worst of ten bids
    assert market.only().price == 99.0
    # Price rises: a better bid enters the ten-level window, 99.0 leaves it.
    (event,) = market.delta({"100.0": "1", "99.0": "0"}, {"100.1": "0"})
    assert (event.kind, event.outcome) == (GONE, DensityOutcome.OUT_OF_RANGE)
    assert (event.density.size, event.density.pulled) == (15.0, 0.0)

    tested = Market(depth=10, bids={"99.0": "15"})
    tested.trades((tested.ts + 10, 99.1, 0.5, False))
    (event,) = tested.delta({"100.0": "1", "99.0": "0"}, {"100.1": "0"})
    assert event.outcome is DensityOutcome.HELD

    cancelled = Market(depth=10, bids={"99.0": "15"})
    cancelled.delta({"99.0": "0"})  # the window is no longer full: a cancel
    cancelled.tracker.finish()
    (event,) = cancelled.take()
    assert event.outcome is DensityOutcome.SPOOF


def test_faded_when_the_auto_threshold_rises_above_an_intact_density() -> None:
    market = Market(rules(auto_turnover_fraction=0.001))
    market.delta({"99.5": "12"})
    market.tracker.set_turnover(5_000_000.0, market.ts)  # threshold 5,000 USDT
    events = market.take()
    assert market.tracker.densities() == []
    market.tracker.finish()
    events += market.take()
    assert [(e.kind, e.outcome) for e in events] == [(GONE, DensityOutcome.FADED)]


# ---- eaten, pulled, spoof --------------------------------------------------------------------


def test_trades_at_its_price_are_eaten_and_the_rest_of_the_loss_is_pulled() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    market.trades((2_050, 99.5, 3.0, False))  # a taker sell hits the bid wall
    market.trades((2_060, 99.5, 5.0, True))  # a taker buy at that price does not
    market.trades((2_070, 99.4, 1.0, False))  # another price does not either
    market.delta({"99.5": "9"}, ts=2_100)
    density = market.only()
    assert (density.eaten, density.pulled) == (3.0, 0.0)
    market.delta({"99.5": "8"}, ts=2_200)  # one lot cancelled
    density = market.only()
    assert (density.eaten, density.pulled) == (3.0, 1.0)
    assert density.erosion == pytest.approx(1 - 8 / 12)


def test_trades_the_book_showed_before_the_density_appeared_are_not_its_own() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    market.trades((1_990, 99.5, 3.0, False))
    assert market.only().eaten == 0.0


def test_a_wall_eaten_to_the_end_is_eaten() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    market.trades((2_050, 99.5, 12.0, False))
    assert market.delta({"99.5": "0"}, ts=2_100) == []  # the outcome waits for late trades
    (event,) = market.delta({"99.0": "2"}, ts=3_100)
    # Stamped when decided (events stay in time order); its walls went at 2,100.
    assert (event.kind, event.outcome, event.ts) == (GONE, DensityOutcome.EATEN, 3_100)
    assert event.density.last_seen == 2_100
    assert (event.density.eaten, event.density.pulled) == (12.0, 0.0)


def test_trades_that_arrive_after_the_book_showed_them_still_count() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    assert market.delta({"99.5": "0"}, ts=2_200) == []
    # The trades happened before that book message (T <= its cts) but arrive after it.
    market.trades((2_150, 99.5, 10.0, False), (2_190, 99.5, 2.0, False), ts=2_210)
    market.trades((2_300, 99.5, 7.0, False), ts=2_300)  # after the wall went: not its own
    market.tracker.finish()
    (event,) = market.take()
    assert event.outcome is DensityOutcome.EATEN
    assert event.density.eaten == 12.0


def test_a_wall_pulled_without_trades_is_a_spoof() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    market.delta({"99.5": "0"}, ts=2_100)
    market.tracker.finish()
    (event,) = market.take()
    assert event.outcome is DensityOutcome.SPOOF
    assert (event.density.eaten, event.density.pulled) == (0.0, 12.0)


@pytest.mark.parametrize(
    ("eaten", "outcome"),
    [(4.0, DensityOutcome.SPOOF), (5.4, DensityOutcome.PULLED), (6.0, DensityOutcome.EATEN)],
)
def test_outcome_by_shares_of_the_loss(eaten: float, outcome: DensityOutcome) -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    market.trades((2_050, 99.5, eaten, False))
    market.delta({"99.5": "0"}, ts=2_100)
    market.tracker.finish()
    (event,) = market.take()
    assert event.outcome is outcome
    assert event.density.eaten + event.density.pulled == pytest.approx(12.0)


def test_a_wall_that_outlived_its_test_and_was_taken_down_later_held() -> None:
    market = Market()
    market.delta({"99.5": "12"}, ts=2_000)
    market.trades((2_050, 99.6, 0.5, False))  # price tests the wall (within 0.2 %)
    market.trades((2_500, 100.5, 0.5, True))  # and bounces away
    market.delta({"99.5": "0"}, ts=3_000)
    market.tracker.finish()
    (event,) = market.take()
    assert event.outcome is DensityOutcome.HELD
    assert (event.density.eaten, event.density.pulled) == (0.0, 12.0)


def test_spoof_flag_needs_a_material_loss() -> None:
    market = Market()
    market.delta({"99.5": "20"})
    market.delta({"99.5": "19.5"})  # 2.5 % pulled: all of the loss, but not material
    assert not market.tracker.is_spoof(market.only())
    (event,) = market.delta({"99.5": "14"})
    assert market.tracker.is_spoof(event.density)
    assert event.density.pulled == 6.0


def test_ask_walls_are_hit_by_taker_buys() -> None:
    market = Market()
    market.delta(asks={"100.5": "12"}, ts=2_000)
    market.trades((2_050, 100.5, 4.0, True), (2_060, 100.5, 4.0, False))
    density = market.only()
    assert (density.side, density.eaten) == (BookSide.ASK, 4.0)


def test_a_one_sided_book_judges_nothing_until_both_sides_are_back() -> None:
    market = Market()
    assert market.delta({"99.5": "12"}, {p: "0" for p in ASKS}) == []  # no mid, no judgement
    events = market.delta(asks={"100.1": "1"})
    assert kinds(events) == [APPEARED]
    assert market.only().price == 99.5
