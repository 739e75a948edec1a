"""The main screen's beat plan: the ladders never share a beat with the tables or the log, and
polls and log reads keep their rates."""

from __future__ import annotations

from itertools import pairwise

import pytest

from densitytui.ui.beats import Beat, BeatPlan


def run(plan: BeatPlan, beats: int, *, jitter: float = 0.0, movers_every: int = 0):
    """Beat `beats` times at the plan's pace (odd beats a little late by `jitter`); a poll
    leaves movers to show every `movers_every`-th poll. Yields (time, work)."""
    polls = 0
    waiting = False
    for n in range(1, beats + 1):
        now = n * plan.beat_s + (jitter if n % 2 else 0.0)
        work = plan.step(now, waiting)
        if Beat.MOVERS in work:
            waiting = False
        if Beat.POLL in work:
            polls += 1
            waiting = bool(movers_every) and polls % movers_every == 0
        yield now, work


def test_ladders_have_every_other_beat_to_themselves() -> None:
    plan = BeatPlan(0.1, 0.5, 0.5)
    for n, (_, work) in enumerate(run(plan, 400, movers_every=2), start=1):
        if n % 2 == 0:
            assert work == [Beat.LADDERS]
        else:
            assert Beat.LADDERS not in work


@pytest.mark.parametrize(("ladder_s", "poll_s"), [(0.1, 0.5), (0.05, 0.5), (0.1, 1 / 3), (0.1, 1.0)])
def test_polls_keep_their_rate_and_the_movers_follow_on_the_next_off_beat(
    ladder_s: float, poll_s: float
) -> None:
    plan = BeatPlan(ladder_s, poll_s, 0.5)
    seconds = 60
    beats = list(run(plan, round(seconds / plan.beat_s), jitter=0.003, movers_every=2))
    polls = [now for now, work in beats if Beat.POLL in work]
    logs = [now for now, work in beats if Beat.LOG in work]
    assert len(polls) == pytest.approx(seconds / poll_s, abs=1)
    assert len(logs) == pytest.approx(seconds / 0.5, abs=1)
    gaps = [later - earlier for earlier, later in pairwise(polls)]
    assert max(gaps) <= poll_s + ladder_s + 1e-9
    for i, (_, work) in enumerate(beats):
        if Beat.MOVERS in work:
            assert Beat.POLL not in work
            assert Beat.POLL in beats[i - 2][1], "the movers show one ladder interval after"
