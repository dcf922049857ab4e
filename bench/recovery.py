"""Recovery: from SIGKILL of the worker running a job to that job started again by another.

Two `python worker.py` serve one queue; a `sleeper` job (Retry(max=1)) starts on one of
them, whose main process is then killed with SIGKILL (its work horse is left to notice).
The clock stops when the job is `started` again on the surviving worker. Plain RQ with
its defaults would take the job's heartbeat TTL (monitoring interval + 60 s) and then wait
for a surviving worker's maintenance pass (every 600 s): up to about eleven minutes.
"""

from __future__ import annotations

import os
import signal
import time

from rq import Worker

import bench.jobs  # noqa: F401  (its job types, for their retry policy)
from bench.harness import Stack, wait_for
from bench.report import Figure, median
from jobs.core import catalogue, keys
from jobs.core.config import settings
from jobs.core.queue import queue


def _one(stack: Stack, q) -> float:
    first = stack.worker(q.name)
    second = stack.worker(q.name)
    job_type = catalogue.CATALOGUE["sleeper"]
    job = q.enqueue_call(job_type.func_name, kwargs={"seconds": 300}, retry=job_type.retry, timeout=job_type.timeout)
    key = keys.job_key(job.id)
    wait_for(lambda: stack.redis.hget(key, "status") == b"started", 30, "the job to start")
    runner = stack.redis.hget(key, "worker_name").decode()
    pid = int(stack.redis.hget(Worker.redis_worker_namespace_prefix + runner, "pid"))
    victim = first if pid == first.pid else second
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    def restarted():
        status, worker = stack.redis.hmget(key, "status", "worker_name")
        return status == b"started" and worker and worker.decode() != runner

    try:
        wait_for(restarted, 90, "the job to start on the other worker", interval=0.05)
    except TimeoutError:
        status = stack.redis.hget(key, "status")
        raise TimeoutError(f"the job was not restarted within 90 s; it is {status}") from None
    seconds = time.monotonic() - killed
    stack.stop(victim, signal.SIGKILL)
    stack.stop(first if victim is second else second)
    return seconds


def run(quick: bool) -> list[Figure]:
    reps = 1 if quick else 3
    with Stack() as stack:
        times = [_one(stack, queue(f"recovery{rep}", stack.redis)) for rep in range(reps)]
    baseline = 30 + 60 + 600  # RQ's defaults: monitoring interval + 60 s, then a maintenance pass
    return [
        Figure(
            "recovery: SIGKILL of a worker to its job started on another",
            median(times),
            "s",
            baseline,
            "worst case with RQ's defaults (computed, not run)",
            "≤ 30 s",
            max(times) <= 30,
            f"runs: {', '.join(f'{t:.1f}' for t in times)} s; heartbeat every {settings.job_monitoring_interval} s, "
            f"grace {settings.heartbeat_grace} s, maintenance every {settings.maintenance_interval} s",
        )
    ]
