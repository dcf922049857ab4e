"""Retry policies for job types: RQ's `Retry`, with exponential intervals and jitter.

    @job(title="Fetch a page", retry=Backoff(3, first=10))   # retried about 10 s, 20 s, 40 s later

A job that raises is retried until its retries are used up, then fails for good. Each job
draws its own jitter when it is enqueued, so jobs that failed together (a flaky service)
do not all come back at the same moment.
"""

from __future__ import annotations

import random

from rq import Retry


def intervals(
    retries: int, first: float = 10, factor: float = 2.0, cap: float = 3600, jitter: float = 0.25
) -> list[int]:
    """Seconds to wait before each retry: `first`, then times `factor` each time, at most `cap`.

    Each interval is spread by up to ±`jitter` (a fraction); none is shorter than a second.
    """
    return [max(1, round(min(cap, first * factor**n) * random.uniform(1 - jitter, 1 + jitter))) for n in range(retries)]


class Backoff(Retry):
    """RQ's `Retry` whose intervals grow exponentially and are drawn afresh for every job."""

    def __init__(self, max: int, *, first: float = 10, factor: float = 2.0, cap: float = 3600, jitter: float = 0.25):
        self.first, self.factor, self.cap, self.jitter = first, factor, cap, jitter
        super().__init__(max)

    @property
    def intervals(self) -> list[int]:
        # RQ copies this list into each job as it is enqueued: reading it draws new jitter.
        return intervals(self.max, self.first, self.factor, self.cap, self.jitter)

    @intervals.setter
    def intervals(self, _fixed) -> None:
        """Ignore the fixed list that RQ's constructor sets; the intervals are drawn when read."""
