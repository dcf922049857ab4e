"""How long a job has left, from how fast it has moved lately rather than since it started.

    eta = Eta(started=time.monotonic())
    eta.estimate(done, total, time.monotonic())   # seconds left, or None while unknown

A job rarely runs at one pace: a model warms up, a link check ends on its slowest links. The
pace is measured over a sliding window of the last `WINDOW` seconds of updates, so the estimate
follows a change of pace within seconds; until the job has run that long it is the pace since
the start. A changed total, or a count that goes back, is a new phase: the window starts over.
"""

from __future__ import annotations

from collections import deque

WINDOW = 10.0


class Eta:
    def __init__(self, started: float, window: float = WINDOW):
        self.window = window
        self.total: float | None = None
        # (when, fraction done): the job's start counts as nothing done.
        self.samples: deque[tuple[float, float]] = deque([(started, 0.0)])

    def estimate(self, done: float, total: float, now: float) -> float | None:
        fraction = min(max(done / total, 0.0), 1.0)
        if self.total is not None and (total != self.total or fraction < self.samples[-1][1]):
            self.samples = deque([(self.samples[-1][0], 0.0)])  # a new phase, begun at the last update
        self.total = total
        self.samples.append((now, fraction))
        # Keep one sample at least a window old, so the pace is measured over the whole window.
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()
        if fraction >= 1:
            return 0.0
        then, before = self.samples[0]
        if now <= then or fraction <= before:
            return None
        return round((1 - fraction) * (now - then) / (fraction - before), 1)
