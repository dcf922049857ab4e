"""How long a job has left, from how fast it has moved lately rather than since it started.

    eta = Eta(started=time.monotonic())
    eta.estimate(done, total, time.monotonic())   # seconds left, or None while unknown

A job rarely runs at one pace: a model warms up, a link check ends on its slowest links. The
rate is an average of the recent pace, each update's weight fading with a time constant of
`TAU` seconds, so the estimate follows a change of pace within seconds. It starts from the
average pace since the start, and starts over when the total changes or the count goes back
(a new phase of the job).
"""

from __future__ import annotations

import math

TAU = 5.0


class Eta:
    def __init__(self, started: float, tau: float = TAU):
        self.tau = tau
        self.since = started
        self.total: float | None = None
        self.last: tuple[float, float] | None = None  # (fraction done, when)
        self.rate: float | None = None  # fraction per second

    def estimate(self, done: float, total: float, now: float) -> float | None:
        fraction = min(max(done / total, 0.0), 1.0)
        if self.last is not None and (total != self.total or fraction < self.last[0]):
            self.since, self.last, self.rate = self.last[1], None, None  # a new phase
        self.total = total
        if self.last is None or self.rate is None:
            elapsed = now - self.since
            self.rate = fraction / elapsed if elapsed > 0 and fraction > 0 else None
        else:
            before, then = self.last
            gap = now - then
            if gap > 0:
                weight = 1 - math.exp(-gap / self.tau)
                self.rate = weight * (fraction - before) / gap + (1 - weight) * self.rate
        self.last = (fraction, now)
        if fraction >= 1:
            return 0.0
        if not self.rate or self.rate <= 0 or fraction <= 0:
            return None
        return round((1 - fraction) / self.rate, 1)
