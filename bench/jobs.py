"""Job types that exist only for the benchmarks; the bench's processes load them through
SPOOL_JOB_MODULES. Plain RQ baselines run the very same functions.
"""

from __future__ import annotations

import time

from rq import Retry, get_current_job

from jobs import emit, job, log, progress


@job(title="Nothing", timeout=30)
def noop() -> None:
    """Do nothing, so that only the worker's own cost is measured."""


@job(title="Body start", timeout=30)
def body_start() -> float:
    """Return the wall-clock time at which the job's body began."""
    return time.time()


@job(title="Body start on the ml queue", queue="ml", timeout=30)
def ml_body_start() -> float:
    """Return the wall-clock time at which the job's body began, in a worker with the model."""
    return time.time()


@job(title="Tight loop", timeout=600)
def tight(calls: int = 1_000_000, seconds: float = 2.0) -> dict:
    """Call progress() `calls` times in a tight loop, again until `seconds` pass; time the calls."""
    start = time.perf_counter()
    rounds = 0
    while not rounds or time.perf_counter() - start < seconds:
        for i in range(calls):
            progress(i + 1, calls)
        rounds += 1
    elapsed = time.perf_counter() - start
    return {"ns_per_call": elapsed * 1e9 / (calls * rounds), "loop_ended": time.time()}


@job(title="Tight emit loop", timeout=600)
def tight_emit(calls: int = 200_000, seconds: float = 2.0) -> dict:
    """Call emit() `calls` times in a tight loop (a named value replaced), again until `seconds` pass."""
    start = time.perf_counter()
    rounds = 0
    while not rounds or time.perf_counter() - start < seconds:
        for i in range(calls):
            emit(values={"n": i + 1})
        rounds += 1
    elapsed = time.perf_counter() - start
    return {"ns_per_call": elapsed * 1e9 / (calls * rounds), "loop_ended": time.time()}


@job(title="Ticker", timeout=3600)
def ticker(ticks: int = 100, interval: float = 0.2, lines: int = 3, gate: str = "") -> int:
    """Once `gate` exists, every `interval` log `lines` lines and report progress, each stamped with the time."""
    connection = get_current_job().connection
    while gate and not connection.exists(gate):
        time.sleep(0.005)
    due = time.monotonic()
    for i in range(ticks):
        for _ in range(lines):
            log(repr(time.time()))
        progress(i + 1, ticks, repr(time.time()))
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))
    return ticks


@job(title="Sleeper", timeout=600, retry=Retry(max=1))
def sleeper(seconds: float = 60.0) -> float:
    """Sleep, so that its worker can be killed mid-job; return when this attempt began."""
    began = time.time()
    time.sleep(seconds)
    return began


@job(title="Parked", queue="parked", timeout=30)
def parked() -> None:
    """Wait on a queue that no worker serves, so that a socket can watch it for long."""
