"""Worker overhead: `python worker.py` against plain `rq worker` (the same forking
`rq.Worker` class underneath, the job module imported before forking: `bench.plain_rq`)
on the same trivial function.

Throughput: a batch of `noop` jobs is queued before the worker starts; jobs/s is the batch
over the span from the first job's start to the last one's end (RQ's own timestamps), so
start-up (and the model preload) is left out. Latency: one job at a time, from just before
`enqueue` to the first line of the job's body (which returns `time.time()`), with Spool's
worker serving the "ml" queue and so holding the embedding model, and plain RQ without it.
Spool's worker forks each work horse before its job (jobs.core.warm); plain RQ forks per job.
"""

from __future__ import annotations

import time

from rq import Queue, Worker
from rq.job import Job
from rq.registry import FinishedJobRegistry

from bench.harness import PYTHON, Stack, wait_for
from bench.report import Figure, median, percentile
from jobs.builtin.texts import embeddings
from jobs.core.queue import queue


def _throughput(stack: Stack, q: Queue, n: int, argv: list[str]) -> float:
    ids = [q.enqueue("bench.jobs.noop").id for _ in range(n)]
    worker = stack.spawn(argv, name="worker")
    registry = FinishedJobRegistry(q.name, connection=stack.redis)
    wait_for(lambda: registry.count >= n, 300, f"{n} jobs to finish", interval=0.05)
    stack.stop(worker)
    jobs = Job.fetch_many(ids, connection=stack.redis, serializer=q.serializer)
    span = max(j.ended_at for j in jobs) - min(j.started_at for j in jobs)
    return n / span.total_seconds()


def _start_latency(q: Queue, func: str) -> float:
    """Milliseconds from enqueue to the job body's first line."""
    sent = time.time()
    job = q.enqueue(func)
    wait_for(lambda: job.get_status(refresh=True) == "finished", 60, "a job to finish", interval=0.001)
    return (job.return_value() - sent) * 1000


def run(quick: bool) -> list[Figure]:
    reps, n, m = (1, 60, 10) if quick else (3, 300, 40)
    spool_rates, plain_rates = [], []
    with Stack() as stack:
        plain_worker = [PYTHON, "-m", "bench.plain_rq", "worker", "--url", stack.url, "--worker-class", "rq.Worker"]
        for rep in range(reps):
            spool_rates.append(
                _throughput(stack, queue(f"spool{rep}", stack.redis), n, [PYTHON, "worker.py", f"spool{rep}"])
            )
            plain = Queue(f"plain{rep}", connection=stack.redis)
            plain_rates.append(_throughput(stack, plain, n, [*plain_worker, plain.name]))
        model = embeddings.missing() is None
        stack.worker(embeddings.QUEUE)
        before = stack.redis.scard(Worker.redis_workers_keys)
        proc = stack.spawn([*plain_worker, "plain-latency"], name="worker")
        stack.wait_registered(proc, before)
        spool_q, plain_q = queue(embeddings.QUEUE, stack.redis), Queue("plain-latency", connection=stack.redis)
        # One job each in turn (the first of each only warms up), so that both meet the same machine.
        spool_latency, plain_latency = [], []
        for _ in range(m + 1):
            spool_latency.append(_start_latency(spool_q, "bench.jobs.ml_body_start"))
            plain_latency.append(_start_latency(plain_q, "bench.jobs.body_start"))
        spool_latency, plain_latency = spool_latency[1:], plain_latency[1:]
    spool_rate, plain_rate = median(spool_rates), median(plain_rates)
    p50, plain_p50 = percentile(spool_latency, 50), percentile(plain_latency, 50)
    return [
        Figure(
            "worker: trivial jobs/s, worker.py vs rq worker",
            spool_rate,
            "jobs/s",
            plain_rate,
            "plain rq worker",
            "≥ 1.0×",
            spool_rate / plain_rate >= 1.0,
            f"{n} jobs a run; runs: Spool {', '.join(f'{r:.0f}' for r in spool_rates)}, "
            f"RQ {', '.join(f'{r:.0f}' for r in plain_rates)}",
        ),
        Figure(
            "worker: enqueue to body start, p50" + (" (model preloaded)" if model else " (NO model: ML stack missing)"),
            p50,
            "ms",
            plain_p50,
            "plain rq worker, no model",
            "≤ 1.0×",
            p50 / plain_p50 <= 1.0,
            f"{m} jobs each, one at a time, taking turns; p99 {percentile(spool_latency, 99):.1f} ms vs {percentile(plain_latency, 99):.1f} ms",
        ),
    ]
