"""Soak (`make soak`): 1,000 jobs while a bounded chaos loop SIGKILLs random work horses and
whole workers. At the end every job has finished or failed with a reason, no job is listed
twice or lost, no job's work completed twice, and the counts add up.
"""

import os
import random
import signal
import time
from collections import Counter

import pytest

from jobs.core import keys
from tests.helpers import wait_for

JOBS = 1000
WORKERS = 4
CHAOS_ACTIONS = 60
TERMINAL = {"finished", "failed", "stopped", "canceled"}


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_a_thousand_jobs_under_chaos_are_all_accounted_for(own_redis, own_worker, make_app):
    redis = own_redis.client()
    # One owner submits all thousand at once, far past what one person may have waiting.
    client = make_app(REDIS_URL=own_redis.url, MAX_WAITING_PER_OWNER=0).test_client()

    def start_worker():
        return own_worker(env={"HEARTBEAT_GRACE": "3"})

    workers = [start_worker() for _ in range(WORKERS)]
    started_at = time.monotonic()
    ids = []
    rng = random.Random(4)
    for n in range(JOBS):
        body = {"type": "soak", "params": {"ms": rng.randrange(20, 300)}}
        response = client.post("/api/jobs", json=body, headers={"Idempotency-Key": f"soak-{n}"})
        assert response.status_code == 202
        ids.append(response.get_json()["id"])
        if n % 10 == 0:  # a client that lost the answer sends it again: the same job comes back
            again = client.post("/api/jobs", json=body, headers={"Idempotency-Key": f"soak-{n}"})
            assert again.get_json()["id"] == ids[-1]

    def statuses() -> Counter:
        return Counter(s or "gone" for s in keys.statuses(redis, ids))

    horses_killed = workers_killed = 0
    try:
        for _ in range(CHAOS_ACTIONS):
            if sum(n for s, n in statuses().items() if s in TERMINAL) == JOBS:
                break
            time.sleep(rng.uniform(0.3, 1.2))  # the chaos loop's pace, not a synchronisation
            if rng.random() < 0.75:
                running = [horse for worker in workers for horse in worker.work_horses()]
                if running:
                    os.kill(rng.choice(running), signal.SIGKILL)
                    horses_killed += 1
            else:
                victim = workers.pop(rng.randrange(len(workers)))
                os.killpg(victim.pid, signal.SIGKILL)
                victim.process.wait()
                workers_killed += 1
                workers.append(start_worker())

        wait_for(
            lambda: sum(n for s, n in statuses().items() if s in TERMINAL) == JOBS,
            600,
            "every job to finish or fail",
        )
        elapsed = time.monotonic() - started_at
    finally:
        for worker in workers:
            worker.stop()

    counts = statuses()
    started = {k.decode(): int(v) for k, v in redis.hgetall("soak:started").items()}
    runs = {
        job_id: [tuple(map(float, r.split())) for r in redis.lrange(f"soak:runs:{job_id}", 0, -1)] for job_id in ids
    }
    effects = sum(redis.exists(f"soak:effect:{job_id}") for job_id in ids)
    failed = [job_id for job_id in ids if redis.hget(keys.job_key(job_id), "status") == b"failed"]
    reasons = Counter(client.get(f"/api/jobs/{job_id}").get_json()["error"]["message"] for job_id in failed)
    listed = client.get("/api/jobs?per_page=100").get_json()["total"]
    rerun = [spans for spans in runs.values() if len(spans) > 1]
    overlapping = [
        spans for spans in rerun if any(a[1] > b[0] for a, b in zip(sorted(spans), sorted(spans)[1:], strict=False))
    ]
    print(
        f"\nsoak: {JOBS} jobs in {elapsed:.0f}s with {horses_killed} work horses and {workers_killed} workers "
        f"SIGKILLed; {dict(counts)}; {sum(started.values())} starts ({sum(started.values()) - len(started)} "
        f"after a kill); {len(rerun)} jobs ran to the end twice (killed between their work and RQ's record of "
        f"it), {len(overlapping)} of them at the same time; effects applied: {effects}; "
        f"failure reasons: {dict(reasons)}"
    )
    assert len(set(ids)) == JOBS and listed == JOBS  # none lost, none made twice
    assert counts["finished"] + counts["failed"] == JOBS
    assert effects == counts["finished"] + sum(1 for job_id in failed if runs[job_id])
    assert not overlapping  # a job never runs twice at once: a horse dies with its worker
    assert all(message for message in reasons)  # every failure says why
    assert horses_killed + workers_killed > 0
