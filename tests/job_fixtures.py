"""Job types that exist only for the tests; loaded through SPOOL_JOB_MODULES."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from rq import Retry, get_current_job

from jobs import Backoff, Upload, attach, emit, fan_out, job, log, open_upload, progress
from jobs.core.exceptions import WaitingForParts

# The smallest valid PNG: one transparent pixel.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


@job(title="Steps", timeout=60)
def steps(n: Annotated[int, Field(ge=1, le=1000)] = 5, pause: float = 0.0) -> dict:
    """Count to n, reporting each step."""
    for i in range(n):
        progress(i + 1, n, f"step {i + 1}")
        log(f"did step {i + 1}")
        time.sleep(pause)
    return {"steps": n}


@job(title="Block", timeout=120)
def block(seconds: float = 60.0) -> str:
    """Keep running until stopped or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        progress(time.monotonic() - deadline + seconds, seconds, "blocking")
        time.sleep(0.02)
    return "done"


@job(title="Fail", timeout=30)
def fail(message: str = "the input was bad") -> None:
    """Raise an error with a message."""
    raise ValueError(message)


@job(title="Spam", timeout=120)
def spam(calls: int = 100_000) -> int:
    """Call progress() in a tight loop."""
    for i in range(calls):
        progress(i + 1, calls)
    return calls


@job(title="Touch", timeout=30)
def touch(path: str) -> str:
    """Create a file, so a test can tell the job ran."""
    Path(path).write_text("ran")
    return path


@job(title="Every type", timeout=30)
def every_type(
    count: int,
    ratio: float = 0.5,
    name: str = "x",
    loud: bool = False,
    colour: Literal["red", "green"] = "red",
    lines: list[str] | None = None,
    data: Upload | None = None,
) -> dict:
    """Echo the parameters back."""
    return {"count": count, "ratio": ratio, "name": name, "loud": loud, "colour": colour, "lines": lines}


@job(title="Echo file", timeout=30)
def echo_file(data: Upload, note: str = "") -> dict:
    """Read an uploaded file and attach it back, with a tiny PNG."""
    upload = open_upload(data)
    attach("copy.txt", upload.data, upload.content_type or "text/plain")
    attach("dot.png", PNG_1X1, "image/png")
    return {"name": upload.name, "size": len(upload.data), "first_line": upload.text().splitlines()[0], "note": note}


@job(title="Charted", timeout=30)
def charted() -> dict:
    """Return a described chart and a table with an error column, as the built-in jobs do."""
    attach("dot.png", PNG_1X1, "image/png")
    legend = [{"colour": "#1f77b4", "label": "1: dot"}]
    chart = {"file": "dot.png", "title": "One dot", "alt": "1 point in 1 cluster", "x_label": "Across", "y_label": "Up"}
    rows = [["http://a.example/", 200, ""], ["http://b.example/", None, "connection refused"]]
    return {"charts": [{**chart, "legend": legend}], "table": {"columns": ["url", "status", "error"], "rows": rows}}


@job(title="Table", timeout=30)
def table(note: str = "three rows") -> dict:
    """Return a small table, as a result with rows does."""
    return {"note": note, "table": {"columns": ["name", "count"], "rows": [["b", 10], ["a", 9], ["c", 100]]}}


@job(title="Wide values", timeout=30)
def wide(number: int = 10_000_000_000, word: str = "x" * 120) -> dict:
    """Return a long number and a long word as result cards, and log a long unbroken line."""
    log("-" * 400)
    return {"count": number, "ratio": number / 7, "word": word, "checked": True}


@job(title="Fail after a retry", timeout=30, retry=Retry(max=1))
def fail_retried(message: str = "still bad") -> None:
    """Fail on every attempt, so RQ retries once and then records the failure."""
    raise ValueError(message)


def _attempt(marker_dir: str) -> int:
    """Record one more attempt of a job in a directory; return its number (1 for the first)."""
    directory = Path(marker_dir)
    directory.mkdir(parents=True, exist_ok=True)
    number = len(list(directory.glob("attempt-*"))) + 1
    (directory / f"attempt-{number}").write_text(str(os.getpid()))
    return number


@job(title="Attempts", timeout=60, retry=Retry(max=1))
def attempts(marker_dir: str, fail: int = 0, block_first: float = 0.0) -> dict:
    """Record each attempt; fail the first `fail` ones; keep the first one busy for `block_first` s."""
    number = _attempt(marker_dir)
    if number == 1 and block_first:
        deadline = time.monotonic() + block_first
        while time.monotonic() < deadline:
            progress(block_first - (deadline - time.monotonic()), block_first, "blocking")
            time.sleep(0.05)
    if number <= fail:
        raise RuntimeError(f"attempt {number} failed on purpose")
    (Path(marker_dir) / f"done-{number}").write_text("")
    return {"attempt": number}


@job(title="Attempts, no retry", timeout=60)
def attempts_once(marker_dir: str, block_first: float = 0.0) -> dict:
    """Like Attempts, without a retry policy."""
    return attempts(marker_dir, 0, block_first)


@job(title="Ends as a sibling ends", timeout=30)
def ends_in_a_race(marker_dir: str) -> dict:
    """Record its attempt, then end while something else writes to its dependents, as a sibling
    part ending at the same moment writes to their parent's: RQ's end-of-job transaction (which
    WATCHes that key) meets a WatchError and runs again, as it does under a real race."""
    from rq.queue import Queue

    number = _attempt(marker_dir)
    current = get_current_job()
    original = Queue.enqueue_dependents

    def racing(self, job, *args, **kwargs):
        Queue.enqueue_dependents = original  # once: the transaction's second run goes through
        current.connection.sadd(current.dependents_key, "a-sibling")
        current.connection.srem(current.dependents_key, "a-sibling")
        (Path(marker_dir) / "raced").write_text("")
        return original(self, job, *args, **kwargs)

    Queue.enqueue_dependents = racing  # in this work horse only: it exits after this job
    return {"attempt": number}


@job(title="Backoff", timeout=30, retry=Backoff(2, first=1, jitter=0))
def backoff_flaky(marker_dir: str, fail: int = 1) -> dict:
    """Fail the first `fail` attempts, retried after 1 s then 2 s."""
    number = _attempt(marker_dir)
    if number <= fail:
        raise RuntimeError(f"attempt {number} failed on purpose")
    return {"attempt": number}


@job(title="Retry much later", timeout=30, retry=Backoff(3, first=600))
def retry_later(message: str = "come back later") -> None:
    """Fail, so that RQ schedules a retry minutes away."""
    raise RuntimeError(message)


@job(title="Overrun", timeout=1)
def overrun(seconds: float = 30.0) -> None:
    """Sleep past the one-second time limit."""
    time.sleep(seconds)


def _clean_up(stopped, connection) -> None:
    Path(stopped.kwargs["path"]).write_text(f"cleaned up after {stopped.id}")


@job(title="Block, cleaning up when stopped", timeout=120, on_stop=_clean_up)
def block_with_cleanup(path: str, seconds: float = 60.0) -> str:
    """Keep running until stopped; the cleanup writes to `path`."""
    return block(seconds)


@job(title="Parked", queue="parked", timeout=30)
def parked(n: int = 1) -> dict:
    """Run only on a worker of the 'parked' queue, so a test decides when it runs."""
    return {"n": n}


@job(title="Soak", timeout=30, retry=Retry(max=3))
def soak(ms: int = 100) -> dict:
    """Work for `ms` milliseconds, then apply this job's effect once, keyed by its id."""
    current = get_current_job()
    connection, began = current.connection, time.time()
    connection.hincrby("soak:started", current.id, 1)
    time.sleep(ms / 1000)
    # Jobs run at least once: a kill between the work and RQ's record of it runs the job again,
    # so the effect is keyed by the job, and every run that got this far is noted apart.
    connection.set(f"soak:effect:{current.id}", began, nx=True)
    connection.rpush(f"soak:runs:{current.id}", f"{began} {time.time()}")
    return {"began": began}


@job(title="Chatter", timeout=30)
def chatter(size: int = 1_000_000) -> str:
    """Report a progress message and a log line far longer than anyone should read."""
    progress(1, 2, "m" * size)
    log("l" * size)
    return "said too much"


@job(title="Solo", timeout=120, concurrency=1)
def solo(seconds: float = 60.0) -> str:
    """Block, one at a time over all workers."""
    return block(seconds)


@job(title="Per site", timeout=120, concurrency=1, concurrency_key=lambda params: params["site"])
def per_site(site: str, seconds: float = 60.0) -> str:
    """Block, one at a time per site."""
    return block(seconds)


@job(title="Emitter", timeout=120)
def emitter(rows: int = 5, pause: float = 0.0, word: str = "", big_text: int = 0, gate: str = "") -> dict:
    """Emit rows of squares one at a time (with a word of text each), pausing between them; then
    wait for the file `gate`, if given, to exist."""
    emit(columns=["n", "square"])
    if big_text:
        emit(text="t" * big_text)
    for i in range(rows):
        emit(row=[i, i * i], text=f"{word}{i} " if word else None, values={"done": i + 1})
        if pause:
            time.sleep(pause)
    while gate and not Path(gate).exists():
        time.sleep(0.02)
    return {"emitted": rows}


@job(title="Modules loaded", timeout=30)
def modules_loaded(prefix: str) -> list[str]:
    """List the modules this work horse (and so its worker) has loaded under a top-level name."""
    return sorted(name for name in sys.modules if name.split(".")[0] == prefix)


@job(title="Square", internal=True, timeout=60, retry=Retry(max=1, enqueue_at_front=True))
def square(i: int, marker_dir: str = "", gate: str = "", bad: int = -1) -> list[int]:
    """Square one number as a part: mark each attempt, fail at once on `bad`, else wait for the gate."""
    if marker_dir:
        attempt = 1 + len(list(Path(marker_dir).glob(f"part-{i}-attempt-*")))
        Path(marker_dir, f"part-{i}-attempt-{attempt}").touch()
    if i == bad:
        raise ValueError(f"{i} is a bad number")
    progress(0, 2, "squaring")
    while gate and not Path(gate).exists():
        time.sleep(0.02)
    emit(row=[i, i * i])
    progress(2, 2)
    return [i, i * i]


def _count_merge(results: list) -> dict:
    current = get_current_job()
    merges = current.connection.incr(f"test:merges:{current.id}")
    return {"squares": results, "merges": merges}


@job(title="Fan out squares", timeout=60)
def fan_squares(n: int = 4, marker_dir: str = "", gate: str = "", bad: int = -1, partial: bool = False) -> dict:
    """Square 0..n-1, one part each, over the workers."""
    emit(columns=["n", "square"])
    options = {"marker_dir": marker_dir, "gate": gate, "bad": bad}
    return fan_out(square, range(n), merge=_count_merge, partial=partial, kwargs=options)


@job(title="Fan out, then die", timeout=60)
def fan_then_die(n: int = 2, whole_worker: bool = False) -> dict:
    """Fan out, then kill the work horse (or its whole worker) before it can tell its worker the
    job is waiting."""
    try:
        return fan_out(square, range(n), merge=_count_merge)
    except WaitingForParts:
        if whole_worker:
            os.kill(os.getppid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


@job(title="Own process", timeout=30)
def own_process() -> dict:
    """Say which process ran this job, and which process group it leads."""
    return {"pid": os.getpid(), "group": os.getpgid(0)}
