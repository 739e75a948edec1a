"""The order book against a reference rebuilt from scratch, and its sequence rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from densitytui.market.book import STALE_RUN_LIMIT, ApplyResult, OrderBook
from densitytui.model import BookSide

# Fixed decimals per symbol, as Bybit prints them; a delete is "0".
PRICES = [f"{100 + i * 0.5:.2f}" for i in range(24)]
SIZES = ["0", "0", "0.001", "0.500", "1.250", "3.000", "10.000"]


class ReferenceBook:
    """The protocol written as plainly as possible: dicts of strings, no incremental state."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[str, str]] = {"b": {}, "a": {}}
        self.valid = False
        self.last_u = 0
        self.absent = 0
        self.gaps = 0
        self.stale = 0
        self.stale_run = 0

    def apply(self, snapshot: bool, bids: list[list[str]], asks: list[list[str]], u: int) -> None:
        if snapshot or u == 1:
            self.sides = {
                key: {p: s for p, s in dict(levels).items() if float(s) > 0}
                for key, levels in (("b", bids), ("a", asks))
            }
            self.valid = True
        elif not self.valid:
            return
        elif u <= self.last_u:
            self.stale += 1
            self.stale_run += 1
            if self.stale_run > STALE_RUN_LIMIT:
                self.valid = False
                self.gaps += 1
            return
        elif u > self.last_u + 1:
            self.valid = False
            self.gaps += 1
            return
        else:
            for key, levels in (("b", bids), ("a", asks)):
                side = self.sides[key]
                for p, s in levels:
                    if float(s) == 0:
                        if p in side:
                            del side[p]
                        else:
                            self.absent += 1
                    else:
                        side[p] = s
        self.last_u = u
        self.stale_run = 0
        bids = [float(p) for p in self.sides["b"]]
        asks = [float(p) for p in self.sides["a"]]
        if bids and asks and max(bids) >= min(asks):
            self.valid = False


def levels_strategy(prices: list[str]) -> st.SearchStrategy:
    return st.lists(st.tuples(st.sampled_from(prices), st.sampled_from(SIZES)), max_size=12)


# Bids and asks overlap on a few prices: most books stay uncrossed, some cross.
step_strategy = st.tuples(
    st.sampled_from(["snapshot", "next", "next", "next", "next", "stale", "stale", "gap",
                     "restart"]),
    levels_strategy(PRICES[:14]),
    levels_strategy(PRICES[10:]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(step_strategy, min_size=1, max_size=40))
def test_book_equals_a_reference_rebuilt_from_scratch(steps: list) -> None:
    book = OrderBook("TEST")
    reference = ReferenceBook()
    u = 10
    for kind, bids, asks in steps:
        bids = [list(level) for level in bids]
        asks = [list(level) for level in asks]
        snapshot = kind == "snapshot"
        if kind == "next" or snapshot:
            u += 1
        elif kind == "stale":
            u_sent = max(1, u - 1) if u > 2 else u
            book.apply(False, bids, asks, u_sent, 0, 0)
            reference.apply(False, bids, asks, u_sent)
            continue
        elif kind == "gap":
            u += 2
        else:
            u = 1
        result = book.apply(snapshot, bids, asks, u, 0, 0)
        reference.apply(snapshot, bids, asks, u)
        if kind == "gap" and reference.gaps and not reference.valid:
            assert result in (ApplyResult.GAP, ApplyResult.IGNORED)
        assert book.valid == reference.valid
        if reference.valid:
            assert book.last_u == reference.last_u
        for ladder, key in ((book.bids, "b"), (book.asks, "a")):
            side = reference.sides[key]
            assert ladder.prices == sorted(float(p) for p in side)
            assert ladder.sizes == {float(p): float(s) for p, s in side.items()}
            best_first = sorted(side.items(), key=lambda level: float(level[0]),
                                reverse=key == "b")
            assert book.raw_top(30)["bids" if key == "b" else "asks"] == [
                list(level) for level in best_first
            ]
            assert ladder.total == pytest.approx(sum(float(s) for s in side.values()))
    assert book.absent_deletes == reference.absent
    assert book.gaps == reference.gaps
    assert book.stale == reference.stale


def test_a_gap_invalidates_until_the_next_snapshot_and_u_1_restarts() -> None:
    book = OrderBook("TEST")
    assert book.apply(True, [["100", "1"]], [["101", "1"]], 50, 0, 1) is ApplyResult.SNAPSHOT
    assert book.apply(False, [["100", "2"]], [], 51, 0, 2) is ApplyResult.APPLIED
    assert book.apply(False, [["99", "2"]], [], 53, 0, 3) is ApplyResult.GAP
    assert not book.valid
    assert book.apply(False, [["98", "2"]], [], 54, 0, 4) is ApplyResult.IGNORED
    assert book.bids.prices == [100.0]
    assert book.apply(False, [["97", "5"]], [["102", "1"]], 1, 0, 5) is ApplyResult.SNAPSHOT
    assert book.valid
    assert book.bids.prices == [97.0]
    assert book.asks.prices == [102.0]
    assert book.apply(False, [["97", "0"]], [], 2, 0, 6) is ApplyResult.APPLIED
    assert book.bids.prices == []


def test_a_long_run_of_stale_deltas_is_a_gap_not_a_frozen_book() -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"]], [["101", "1"]], 500, 0, 1)
    # A few old messages replayed after a reconnect are dropped quietly...
    for u in range(495, 495 + STALE_RUN_LIMIT):
        assert book.apply(False, [["100", "9"]], [], u, 0, 2) is ApplyResult.STALE
    assert book.apply(False, [["100", "2"]], [], 501, 0, 3) is ApplyResult.APPLIED
    # ...but a run longer than that means the stream follows another counter (a book seeded
    # from a REST answer, say): the book says so instead of dropping every delta as stale.
    for u in range(2, 2 + STALE_RUN_LIMIT):
        assert book.apply(False, [["100", "9"]], [], u, 0, 4) is ApplyResult.STALE
    assert book.valid
    assert book.apply(False, [["100", "9"]], [], 9, 0, 5) is ApplyResult.GAP
    assert not book.valid
    assert (book.stale, book.gaps) == (2 * STALE_RUN_LIMIT + 1, 1)
    assert book.size_at(BookSide.BID, 100.0) == 2.0
    assert book.apply(True, [["99", "1"]], [["101", "1"]], 20, 0, 6) is ApplyResult.SNAPSHOT
    assert book.valid


def test_a_message_that_crosses_the_book_invalidates_it() -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"], ["99", "5"]], [["101", "1"], ["102", "4"]], 1, 0, 1)
    assert book.apply(False, [["101.5", "3"]], [], 2, 0, 2) is ApplyResult.CROSSED
    assert not book.valid
    assert book.crossed()
    assert book.crossings == 1
    assert book.apply(False, [["101.5", "0"]], [], 3, 0, 3) is ApplyResult.IGNORED
    assert book.apply(True, [["101", "1"]], [["100", "1"]], 9, 0, 4) is ApplyResult.CROSSED
    assert book.crossings == 2
    assert book.apply(True, [["100", "1"]], [["101", "1"]], 10, 0, 5) is ApplyResult.SNAPSHOT
    assert book.valid


def test_the_snapshot_after_a_crossing_reports_changes_against_the_book_before_it() -> None:
    """Nobody digested the crossing message's changes (its densities were frozen), so the
    healing snapshot must report what differs from the book as it was before that message."""
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"], ["99", "5"]], [["101", "1"], ["102", "4"]], 1, 0, 1)
    book.apply(False, [["101.5", "3"], ["99", "8"]], [["102", "0"]], 2, 0, 2)
    book.apply(True, [["100", "1"], ["99", "8"]], [["101", "1"], ["102", "4"]], 7, 0, 3)
    assert sorted(book.changes) == sorted([(BookSide.BID, 99.0, 5.0, 8.0)])


def test_stale_deltas_are_dropped_and_counted() -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"]], [["101", "1"]], 7, 0, 1)
    assert book.apply(False, [["100", "9"]], [], 7, 0, 2) is ApplyResult.STALE
    assert book.apply(False, [["100", "9"]], [], 3, 0, 2) is ApplyResult.STALE
    assert book.size_at(BookSide.BID, 100.0) == 1.0
    assert book.stale == 2


def test_delete_of_an_absent_level_is_tolerated_and_counted() -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"]], [["101", "1"]], 1, 0, 1)
    assert book.apply(False, [["99", "0"]], [["105", "0"]], 2, 0, 2) is ApplyResult.APPLIED
    assert book.absent_deletes == 2
    assert book.bids.prices == [100.0]


@pytest.mark.parametrize(
    "bad_level",
    [["100", "-1"], ["100", "abc"], ["x", "1"], ["100"], 7, ["100", "nan"], ["-5", "1"]],
)
def test_an_unreadable_level_raises_and_leaves_the_book_unchanged(bad_level: object) -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"], ["99", "2"]], [["101", "1"]], 1, 0, 1)
    with pytest.raises((ValueError, TypeError)):
        book.apply(False, [["100", "5"], bad_level], [], 2, 0, 2)  # type: ignore[list-item]
    assert book.bids.sizes == {100.0: 1.0, 99.0: 2.0}
    assert book.last_u == 1
    assert book.valid
    assert book.apply(False, [["100", "5"]], [], 2, 0, 3) is ApplyResult.APPLIED


def test_top_of_book_queries_and_exact_strings() -> None:
    book = OrderBook("TEST")
    book.apply(
        True,
        [["100.10", "1.500"], ["100.00", "2.000"], ["99.90", "0.010"]],
        [["100.20", "3.000"], ["100.30", "4.000"]],
        1, 0, 1,
    )
    assert book.best_bid() == 100.1
    assert book.best_ask() == 100.2
    assert book.mid() == pytest.approx(100.15)
    assert not book.crossed()
    assert book.bids.top(2) == [(100.1, 1.5), (100.0, 2.0)]
    assert book.raw_top(2) == {
        "bids": [["100.10", "1.500"], ["100.00", "2.000"]],
        "asks": [["100.20", "3.000"], ["100.30", "4.000"]],
    }
    assert book.bids.volume_between(99.95, 100.2) == pytest.approx(3.5)
    assert book.volume_near_mid(BookSide.ASK, 0.1) == pytest.approx(3.0)
    assert book.volume_near_mid(BookSide.ASK, 0.2) == pytest.approx(7.0)
    # A range holding the whole side, after deltas: the running total, equal to the sum.
    book.apply(False, [["99.90", "0"], ["99.80", "0.25"]], [["100.30", "1.5"]], 2, 1, 2)
    assert book.bids.volume_between(0.0, 1e9) == pytest.approx(1.5 + 2.0 + 0.25)
    assert book.volume_near_mid(BookSide.ASK, 50.0) == pytest.approx(4.5)
    assert book.bids.worst() == 99.8
    assert book.asks.worst() == 100.3
    assert book.bids.volume_between(200.0, 300.0) == 0.0


def test_a_copy_follows_the_next_deltas_alone_and_leaves_its_source_as_it_was() -> None:
    snapshot = ([["100.10", "1.500"], ["100.00", "2.000"]], [["100.20", "3.000"]])
    delta = ([["100.10", "0"], ["99.90", "0.700"]], [["100.20", "2.500"], ["100.40", "1.000"]])
    source = OrderBook("TEST", depth=50)
    source.apply(True, *snapshot, 7, 70, 1_000)
    copy = OrderBook("TEST", depth=50)
    copy.copy_from(source)
    assert copy.valid and copy.last_u == 7 and copy.raw_top(5) == source.raw_top(5)
    assert copy.apply(False, *delta, 8, 80, 1_100) is ApplyResult.APPLIED
    # The copy moved on like a book that read both messages; its source did not.
    both = OrderBook("TEST", depth=50)
    both.apply(True, *snapshot, 7, 70, 1_000)
    both.apply(False, *delta, 8, 80, 1_100)
    assert copy.raw_top(5) == both.raw_top(5)
    assert copy.asks.total == pytest.approx(3.5) and copy.bids.total == pytest.approx(2.7)
    assert source.raw_top(5) == {
        "bids": [["100.10", "1.500"], ["100.00", "2.000"]], "asks": [["100.20", "3.000"]],
    }
    assert source.last_u == 7 and source.asks.total == pytest.approx(3.0)
    invalid = OrderBook("TEST")
    invalid.apply(False, [], [], 5, 0, 0)
    copy.copy_from(invalid)
    assert not copy.valid and copy.best_bid() is None


def test_changes_list_touched_levels_and_watch_notional_filters_small_ones() -> None:
    book = OrderBook("TEST", watch_notional=0.0)
    book.apply(True, [["100", "1"]], [["101", "1"]], 1, 0, 1)
    book.apply(False, [["100", "3"], ["99", "2"]], [["101", "0"]], 2, 0, 2)
    assert sorted(book.changes) == sorted([
        (BookSide.BID, 100.0, 1.0, 3.0),
        (BookSide.BID, 99.0, 0.0, 2.0),
        (BookSide.ASK, 101.0, 1.0, 0.0),
    ])
    book.watch_notional = 250.0
    book.apply(False, [["100", "2"], ["99", "5"], ["98", "1"]], [], 3, 0, 3)
    # 100 x 3 -> 2 had 300 USDT before; 99 x 5 has 495 now; 98 x 1 never reached 250.
    assert sorted(book.changes) == sorted([
        (BookSide.BID, 100.0, 3.0, 2.0),
        (BookSide.BID, 99.0, 2.0, 5.0),
    ])


def test_a_snapshot_lists_what_it_changed_against_the_old_book() -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100", "1"], ["99", "1"]], [["101", "1"]], 1, 0, 1)
    book.apply(True, [["100", "1"], ["98", "4"]], [["101", "2"]], 5, 0, 2)
    assert sorted(book.changes) == sorted([
        (BookSide.BID, 99.0, 1.0, 0.0),
        (BookSide.BID, 98.0, 0.0, 4.0),
        (BookSide.ASK, 101.0, 1.0, 2.0),
    ])


def test_a_price_spelled_two_ways_is_one_level() -> None:
    book = OrderBook("TEST")
    book.apply(True, [["100.50", "1"], ["100.00", "2"]], [["101.00", "1"]], 1, 0, 1)
    book.apply(False, [["100.5", "3"]], [], 2, 0, 2)
    assert book.bids.prices == [100.0, 100.5]
    assert book.bids.sizes == {100.0: 2.0, 100.5: 3.0}
    assert book.bids.total == 5.0
    # Printed with the most decimals the exchange used: "100.50", sizes without.
    assert book.raw_top(1)["bids"] == [["100.50", "3"]]
    book.apply(False, [["100.500", "0"]], [], 3, 0, 3)
    assert book.bids.prices == [100.0]
    assert book.absent_deletes == 0
    assert book.bids.size_of(100.5) == 0.0
    assert book.bids.size_at_index(0) == 2.0
