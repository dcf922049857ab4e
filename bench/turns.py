"""Noisy neighbour: owner A queues many short jobs, then owner B submits one; how long B waits.

Two `python worker.py` serve a queue with Spool's fair turns; two plain `rq worker`s serve a
plain RQ queue (first come, first served) with the very same jobs. B's wait is from its
enqueue to its job's body starting. With fair turns, B should wait about one of A's jobs per
worker; in FIFO, for all of A's jobs. Also the cost of an enqueue and of a dequeue with fair
turns (and the concurrency-limit claim) against RQ's plain RPUSH and LPOP, in this process.
"""

from __future__ import annotations

import time

from rq import Queue
from rq.serializers import JSONSerializer

import bench.jobs  # noqa: F401  (its job types)
from bench.harness import PYTHON, Stack, wait_for
from bench.report import Figure, median
from jobs.core import fair, limits
from jobs.core.keys import Meta
from jobs.core.queue import queue

RUN = 0.05  # seconds each of A's jobs runs


def _b_waits(stack: Stack, q: Queue, flood: int) -> float:
    """Queue `flood` of A's jobs, then B's one; seconds from B's enqueue to its body start."""
    for _ in range(flood):
        q.enqueue_call("bench.jobs.sleeper", kwargs={"seconds": RUN}, meta=Meta(owner="A").as_dict())
    sent = time.time()
    job = q.enqueue_call("bench.jobs.body_start", meta=Meta(owner="B").as_dict())
    wait_for(lambda: job.get_status(refresh=True) == "finished", 600, "B's job to finish", interval=0.01)
    began = job.return_value()
    wait_for(lambda: q.count == 0, 600, "A's jobs to be taken", interval=0.05)
    return began - sent


def _workers(stack: Stack, argv: list[str], count: int) -> list:
    return [stack.spawn(argv, name="worker") for _ in range(count)]


def _registered(stack: Stack, count: int) -> None:
    from rq import Worker

    wait_for(lambda: Worker.count(connection=stack.redis) >= count, 120, "the workers to register", interval=0.05)


def _per_call(func, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - started) / n * 1e6


def _costs(stack: Stack, n: int) -> tuple[float, float, float, float]:
    """Microseconds per enqueue and per dequeue, Spool's queue against RQ's, no worker running."""
    spool, plain = (
        queue("cost-spool", stack.redis),
        Queue("cost-plain", connection=stack.redis, serializer=JSONSerializer),
    )
    # Each job of another owner, so that each dequeue claims a slot (the owners' running cap)
    # and none is parked: the cost of a job that runs.
    spool_metas = iter([Meta(owner=f"owner{i}").as_dict() for i in range(n)])
    plain_metas = iter([Meta(owner=f"owner{i}").as_dict() for i in range(n)])
    spool_enqueue = _per_call(lambda: spool.enqueue_call("bench.jobs.noop", meta=next(spool_metas)), n)
    plain_enqueue = _per_call(lambda: plain.enqueue_call("bench.jobs.noop", meta=next(plain_metas)), n)

    def spool_take():
        job, q = spool.dequeue_any([spool], None, connection=stack.redis, job_class=spool.job_class)
        fair.dequeued(stack.redis, q.name, job.id)
        limits.claim(stack.redis, job)

    spool_dequeue = _per_call(spool_take, n)
    plain_dequeue = _per_call(lambda: plain.dequeue_any([plain], None, connection=stack.redis), n)
    return spool_enqueue, plain_enqueue, spool_dequeue, plain_dequeue


def run(quick: bool) -> list[Figure]:
    flood, reps, n = (200, 1, 500) if quick else (1000, 3, 2000)
    spool_waits, plain_waits = [], []
    with Stack() as stack:
        costs = _costs(stack, n)
        for rep in range(reps):
            spool_q = queue(f"turns{rep}", stack.redis)
            workers = _workers(stack, [PYTHON, "worker.py", spool_q.name], 2)
            _registered(stack, 2)
            spool_waits.append(_b_waits(stack, spool_q, flood))
            for proc in workers:
                stack.stop(proc)
            plain_q = Queue(f"fifo{rep}", connection=stack.redis, serializer=JSONSerializer)
            plain = [
                PYTHON,
                "-m",
                "bench.plain_rq",
                "worker",
                "--url",
                stack.url,
                "-S",
                "rq.serializers.JSONSerializer",
            ]
            workers = _workers(stack, [*plain, plain_q.name], 2)
            _registered(stack, 2)
            plain_waits.append(_b_waits(stack, plain_q, flood))
            for proc in workers:
                stack.stop(proc)
    spool_wait, plain_wait = median(spool_waits), median(plain_waits)
    spool_enqueue, plain_enqueue, spool_dequeue, plain_dequeue = costs
    return [
        Figure(
            f"B's wait behind A's {flood} jobs, 2 workers",
            spool_wait,
            "s",
            plain_wait,
            "RQ FIFO",
            target=f"≤ {2 * RUN:g} s (one of A's {RUN:g} s jobs per worker, and dispatch)",
            ok=spool_wait <= 2 * RUN + 0.1,
        ),
        Figure("enqueue with fair turns", spool_enqueue, "µs", plain_enqueue, "RQ enqueue_call"),
        Figure("dequeue with fair turns and limits", spool_dequeue, "µs", plain_dequeue, "RQ dequeue_any"),
    ]
