"""Job types that exist only for the tests; loaded through SPOOL_JOB_MODULES."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from rq import Retry

from jobs import Upload, files, job, log, progress

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
    upload = files.open_upload(data)
    files.attach("copy.txt", upload.data, upload.content_type or "text/plain")
    files.attach("dot.png", PNG_1X1, "image/png")
    return {"name": upload.name, "size": len(upload.data), "first_line": upload.text().splitlines()[0], "note": note}


@job(title="Table", timeout=30)
def table(note: str = "three rows") -> dict:
    """Return a small table, as a result with rows does."""
    return {"note": note, "table": {"columns": ["name", "count"], "rows": [["b", 10], ["a", 9], ["c", 100]]}}


@job(title="Fail after a retry", timeout=30, retry=Retry(max=1))
def fail_retried(message: str = "still bad") -> None:
    """Fail on every attempt, so RQ retries once and then records the failure."""
    raise ValueError(message)
