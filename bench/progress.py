"""progress() and emit(): the cost of a call in a tight loop, and how many Redis writes it makes.

In a real work horse (`python worker.py`), a job calls progress() in rounds of 10^6 calls
for a few seconds and times its own loop. A subscriber counts the job's progress events
(one Redis write each) in the busiest second while the loop ran, and the job's stored
meta must hold the very last update, written as the job ends. The baseline is the
naive writer, `job.save_meta()` on every call, measured against the same Redis. emit() is
measured the same way (a named value replaced on every call, its output events counted as
they arrive), against progress() in the same run.
"""

from __future__ import annotations

import time

from rq.job import Job

from bench.harness import Stack, wait_for
from bench.report import Figure, median
from jobs.core import events, keys
from jobs.core.queue import queue

CALLS = 1_000_000


def naive_save_meta(stack: Stack, calls: int) -> float:
    """Microseconds per call of a writer that saves the meta on every call."""
    job = queue("idle", stack.redis).enqueue("bench.jobs.noop")
    start = time.perf_counter()
    for i in range(calls):
        job.meta["progress"] = {"done": i + 1, "total": calls}
        job.save_meta()
    return (time.perf_counter() - start) * 1e6 / calls


def busiest_second(stamps: list[float]) -> int:
    """The most stamps that fall within any one second."""
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def in_worker(stack: Stack, calls: int, seconds: float) -> dict:
    pubsub = stack.redis.pubsub()
    pubsub.psubscribe(keys.CHANNEL_PATTERN)
    job = queue("default", stack.redis).enqueue("bench.jobs.tight", kwargs={"calls": calls, "seconds": seconds})
    wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), 120, "the tight-loop job")
    job = Job.fetch(job.id, connection=stack.redis, serializer=job.serializer)
    if job.get_status() != "finished":
        raise RuntimeError(f"the tight-loop job failed: {job.latest_result().exc_string}")
    result = job.return_value()
    stamps = []
    while (message := pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] != "pmessage":
            continue
        _, event = events.parse_message(message["data"])
        if event["type"] == "progress" and event["updated_at"] <= result["loop_ended"]:
            stamps.append(event["updated_at"])
    pubsub.close()
    return {
        "us_per_call": result["ns_per_call"] / 1000,
        "busiest": busiest_second(sorted(stamps)),
        "last_delivered": job.meta["progress"]["done"] == calls,
    }


EMIT_CALLS = 200_000


def emit_in_worker(stack: Stack, calls: int, seconds: float) -> dict:
    pubsub = stack.redis.pubsub()
    pubsub.psubscribe(keys.CHANNEL_PATTERN)
    job = queue("default", stack.redis).enqueue("bench.jobs.tight_emit", kwargs={"calls": calls, "seconds": seconds})
    arrivals = []
    while job.get_status(refresh=True) not in ("finished", "failed"):
        while (message := pubsub.get_message(timeout=0.05)) is not None:
            if message["type"] == "pmessage" and events.parse_message(message["data"])[1]["type"] == "output":
                arrivals.append(time.time())
    pubsub.close()
    if job.get_status() != "finished":
        raise RuntimeError(f"the emit loop failed: {job.latest_result().exc_string}")
    result = job.return_value()
    _seq, _log, output = keys.stream_state(stack.redis, job.id)
    return {
        "us_per_call": result["ns_per_call"] / 1000,
        "busiest": busiest_second(sorted(a for a in arrivals if a <= result["loop_ended"])),
        "last_delivered": output["values"].get("n") == calls,
    }


def run(quick: bool) -> list[Figure]:
    reps, seconds = (3, 1.0) if quick else (3, 3.0)
    with Stack() as stack:
        stack.worker("default")
        runs = [in_worker(stack, CALLS, seconds) for _ in range(reps)]
        emits = [emit_in_worker(stack, EMIT_CALLS, seconds) for _ in range(reps)]
        naive = median(naive_save_meta(stack, 2000) for _ in range(3))
    cost = median(r["us_per_call"] for r in runs)
    writes = max(r["busiest"] for r in runs)
    delivered = sum(r["last_delivered"] for r in runs)
    return [
        Figure(
            "progress(): cost per call in a tight loop in a work horse",
            cost,
            "µs",
            naive,
            "save_meta() per call",
            "≤ 2 µs",
            cost <= 2,
        ),
        Figure(
            "progress(): Redis writes in the busiest second of a job (worst run)",
            writes,
            "/s",
            1e6 / naive,
            "save_meta() per call",
            "≤ 10/s",
            writes <= 10,
            f"{seconds:.0f}-second loops; the final write as the job ends is on top",
        ),
        Figure(
            "progress(): last update stored",
            delivered,
            f"of {reps} runs",
            target="all",
            ok=delivered == reps,
        ),
        *_emit_figures(emits, cost, reps, seconds),
    ]


def _emit_figures(emits: list[dict], progress_cost: float, reps: int, seconds: float) -> list[Figure]:
    cost = median(r["us_per_call"] for r in emits)
    writes = max(r["busiest"] for r in emits)
    delivered = sum(r["last_delivered"] for r in emits)
    return [
        Figure(
            "emit(): cost per call in a tight loop in a work horse",
            cost,
            "µs",
            progress_cost,
            "progress() per call",
            "≤ 5 µs",
            cost <= 5,
            "a named value replaced on every call",
        ),
        Figure(
            "emit(): Redis writes in the busiest second of a job (worst run)",
            writes,
            "/s",
            target="≤ 10/s",
            ok=writes <= 10,
            note=f"{seconds:.0f}-second loops",
        ),
        Figure("emit(): last value stored", delivered, f"of {reps} runs", target="all", ok=delivered == reps),
    ]
