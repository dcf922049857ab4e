"""Retries: exponential intervals with jitter, and the attempt and next retry time shown live."""

import json
import time

from jobs.core import keys
from jobs.core.retry import Backoff, intervals
from tests.clients import read_until_closed


def test_intervals_grow_exponentially_up_to_the_cap_within_the_jitter():
    for _ in range(50):
        drawn = intervals(6, first=10, factor=2, cap=100, jitter=0.25)
        for n, seconds in enumerate(drawn):
            base = min(100, 10 * 2**n)
            assert 0.75 * base - 1 <= seconds <= 1.25 * base + 1
    assert intervals(3, first=0.1, jitter=0) == [1, 1, 1]  # never under a second


def test_every_job_draws_its_own_jitter():
    policy = Backoff(3, first=60)
    assert len({tuple(policy.intervals) for _ in range(20)}) > 1
    assert policy.max == 3 and len(policy.intervals) == 3


def test_a_retried_job_shows_its_attempt_and_next_try_live(browser, start_worker, marker_dir):
    job_id = browser.submit("backoff_flaky", marker_dir=str(marker_dir), fail=1)
    ws = browser.socket(job_id)
    first = json.loads(ws.recv())
    assert first["status"] == "queued"
    start_worker()  # only now: the second of waiting for the retry comes after the socket is open
    messages = [first, *read_until_closed(ws)]

    waiting = [m for m in messages if m["type"] == "snapshot" and m["status"] == "scheduled"]
    assert waiting, messages
    assert waiting[-1]["attempt"] == 2 and waiting[-1]["attempts"] == 3 and waiting[-1]["retry_at"]
    final = messages[-1]
    assert final["status"] == "finished" and final["attempt"] == 2 and final["result"] == {"attempt": 2}
    assert final["retry_at"] is None


def test_a_job_is_never_seen_waiting_for_its_retry_on_the_attempt_that_failed(api, redis, worker):
    # Read the job's hash as fast as Redis answers while it fails and is scheduled to retry:
    # the status "scheduled" comes with one retry fewer in the same write, never before it.
    for _ in range(10):
        job_id = api.submit("retry_later")
        deadline = time.monotonic() + 30
        while (job := redis.hgetall(keys.job_key(job_id))).get(b"status") != b"scheduled":
            assert time.monotonic() < deadline, f"job {job_id} was not scheduled to retry"
        assert job[b"retries_left"] == b"2", job
