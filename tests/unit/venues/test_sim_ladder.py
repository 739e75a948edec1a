"""The simulated book's published window: what its diffs tell a subscriber is exactly its top N."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from densitytui.venues.sim.ladder import Ladder

DEPTH = 5

operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(90, 130), st.integers(0, 4)),
        st.tuples(st.just("publish"), st.just(0), st.just(0)),
    ),
    max_size=120,
)


def _replay(is_bid: bool, ops: list[tuple[str, int, int]]) -> None:
    ladder = Ladder(is_bid)
    for tick in range(100, 120):
        ladder.set(tick, 1)
    held = dict(ladder.snapshot(DEPTH))
    for op, tick, lots in ops:
        if op == "set":
            ladder.set(tick, lots)
            continue
        for changed, size in ladder.diff(DEPTH):
            if size:
                held[changed] = size
            else:
                assert changed in held, f"delete of a level the subscriber never had: {changed}"
                del held[changed]
        assert held == dict(ladder.window(DEPTH))
    for changed, size in ladder.diff(DEPTH):
        if size:
            held[changed] = size
        else:
            del held[changed]
    assert held == dict(ladder.window(DEPTH))


@settings(max_examples=300, deadline=None)
@given(operations)
def test_bid_diffs_rebuild_the_window(ops: list[tuple[str, int, int]]) -> None:
    _replay(True, ops)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_ask_diffs_rebuild_the_window(ops: list[tuple[str, int, int]]) -> None:
    _replay(False, ops)


def test_a_level_pushed_out_of_the_window_is_sent_as_zero() -> None:
    asks = Ladder(is_bid=False)
    for tick in (10, 11, 12):
        asks.set(tick, 5)
    assert asks.snapshot(3) == [(10, 5), (11, 5), (12, 5)]
    asks.set(9, 7)
    assert asks.diff(3) == [(9, 7), (12, 0)]


def test_a_level_that_comes_into_view_is_sent_with_its_size() -> None:
    bids = Ladder(is_bid=True)
    for tick in (10, 11, 12, 13):
        bids.set(tick, 4)
    assert bids.snapshot(3) == [(13, 4), (12, 4), (11, 4)]
    bids.set(13, 0)
    assert bids.diff(3) == [(13, 0), (10, 4)]


def test_nothing_changed_sends_nothing_and_unchanged_resets_are_silent() -> None:
    bids = Ladder(is_bid=True)
    bids.set(5, 2)
    bids.snapshot(3)
    bids.set(5, 3)
    bids.set(5, 2)
    assert bids.diff(3) == []


def test_unpublished_ladder_tracks_nothing_until_the_next_snapshot() -> None:
    asks = Ladder(is_bid=False)
    asks.set(1, 1)
    asks.snapshot(2)
    asks.unpublish()
    for tick in range(2, 50):
        asks.set(tick, 1)
    assert asks.before == {}
    assert asks.diff(2) == []


def test_depth_of_counts_better_levels() -> None:
    bids = Ladder(is_bid=True)
    asks = Ladder(is_bid=False)
    for tick in (10, 12, 14):
        bids.set(tick, 1)
        asks.set(tick, 1)
    assert [bids.depth_of(t) for t in (14, 12, 10, 13, 9)] == [0, 1, 2, 1, 3]
    assert [asks.depth_of(t) for t in (10, 12, 14, 13, 15)] == [0, 1, 2, 2, 3]
    assert bids.tick_at(1) == 12
    assert asks.tick_at(1) == 12
