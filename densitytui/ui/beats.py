"""What the main screen does on each beat of its one timer, so that no two heavy repaints share
a frame.

The timer beats twice per ladder interval. Even beats pull the ladders; odd beats show the
movers the last poll read, or poll when a poll is due, and read the log when that is due.
Composing the ladders, the tables and the events in one frame took over 10 ms, the event
loop's worst lag; separate timers for them drift into step when one starts late.
"""

from __future__ import annotations

from enum import Enum


class Beat(Enum):
    LADDERS = "ladders"
    MOVERS = "movers"
    POLL = "poll"
    LOG = "log"


class BeatPlan:
    """Decides a beat's work from the beat count and the time (seconds, any monotonic clock)."""

    def __init__(self, ladder_s: float, poll_s: float, log_s: float) -> None:
        self.beat_s = ladder_s / 2
        self.poll_s = poll_s
        self.log_s = log_s
        self.beats = 0
        self._next_poll = 0.0
        self._next_log = 0.0

    def step(self, now: float, movers_waiting: bool = False) -> list[Beat]:
        """The work of the next beat at time `now`, `movers_waiting` when the last poll left
        movers to show. A due time counts from the beat nearest it (half a beat early at most),
        so a 500 ms poll on 50 ms beats keeps 500 ms."""
        self.beats += 1
        if self.beats % 2 == 0:
            return [Beat.LADDERS]
        work = []
        if movers_waiting:
            # A frame of its own: the movers move every second, every row at once.
            work.append(Beat.MOVERS)
        elif now >= self._next_poll - self.beat_s / 2:
            self._next_poll = max(self._next_poll + self.poll_s, now)
            work.append(Beat.POLL)
        if now >= self._next_log - self.beat_s / 2:
            self._next_log = max(self._next_log + self.log_s, now)
            work.append(Beat.LOG)
        return work
