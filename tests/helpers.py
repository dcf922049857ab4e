"""Small functions any test may import: polling without sleeps, a free port, a directory's markers.

    from tests.helpers import wait_for
    job_id = wait_for(lambda: next(iter(get_cron_job_ids("sweep", redis)), None), 30, "a sweep")

What needs a client or a process is offered as a fixture instead (see conftest.py).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest


def wait_for(predicate, timeout: float = 30, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`.

    Returns:
        The first truthy value `predicate` returned.
    """
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() <= deadline:
        time.sleep(0.02)
    return value or pytest.fail(f"timed out after {timeout}s waiting for {message}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def markers(directory: Path) -> list[str]:
    """The names of the files a job left in `directory` (see `tests.job_fixtures.attempts`)."""
    return sorted(p.name for p in directory.glob("*")) if directory.exists() else []


class RunsOnUnpickle:
    """An object whose pickle, loaded by pickle itself, runs a shell command (os.system)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


def drain_events(pubsub) -> list[dict]:
    """Every event a pattern subscription to job channels received, in order, once it goes quiet."""
    # Imported here: tests/environment.py imports this module before it sets the environment
    # that Spool's settings are read from at their first import.
    from jobs.core import events

    published = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "pmessage":
            published.append(events.parse_message(message["data"])[1])
    pubsub.close()
    return published
