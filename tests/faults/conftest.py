"""What fault tests need besides the suite's fixtures: workers tuned to notice a dead worker
in seconds, a look at a worker's processes, a browser on a real web server, and a
redis-server of their own that a test may stop and restart without disturbing the others.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import redis as redis_py

from tests.conftest import VAR, LiveServer, RedisServer, free_port, wait_for

# A heartbeat every second that lapses two seconds after a missed one, and a look for lapsed
# jobs every second, so that an abandoned job is noticed within about five seconds.
FAST = {"JOB_MONITORING_INTERVAL": "1", "HEARTBEAT_GRACE": "2", "MAINTENANCE_INTERVAL": "1", "WORKER_TTL": "16"}


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def gone(pid: int) -> bool:
    """True once a process has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def horse_of(worker, timeout: float = 30) -> int:
    """The pid of the work horse a worker forked for its current job (it leads its own group)."""

    def find():
        for child in children(worker.pid):
            try:
                if os.getpgid(child) == child and not gone(child):
                    return child
            except ProcessLookupError:
                pass
        return None

    return wait_for(find, timeout, f"worker {worker.pid} to fork a work horse")


def markers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*")) if directory.exists() else []


@pytest.fixture
def fast_worker(start_worker):
    """Start a real worker with the fast heartbeat settings (plus `env`)."""

    def start(*queues: str, env: dict | None = None):
        return start_worker(*queues, env={**FAST, **(env or {})})

    return start


@pytest.fixture
def marker_dir():
    return Path(tempfile.mkdtemp(prefix="attempts-", dir=VAR))


@pytest.fixture
def own_redis():
    """A redis-server of the test's own (append-only), which it may stop and start."""
    port = free_port()
    server = RedisServer(port, VAR / f"redis-{port}")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_on(own_redis):
    """Start a real gunicorn web server on the test's own Redis; all are stopped at the end."""
    servers: list[LiveServer] = []

    def start(**env) -> LiveServer:
        servers.append(LiveServer(env={"REDIS_URL": own_redis.url, **env}))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def own_client(own_redis) -> redis_py.Redis:
    return redis_py.Redis.from_url(own_redis.url)


@pytest.fixture
def own_worker(own_redis):
    """Start real workers on the test's own Redis, with the fast settings (plus `env`)."""
    from tests.conftest import WorkerProcess

    started: list[WorkerProcess] = []

    def start(*queues: str, env: dict | None = None) -> WorkerProcess:
        worker = WorkerProcess(*queues, env={**FAST, "REDIS_URL": own_redis.url, **(env or {})})
        started.append(worker.wait_ready(own_client(own_redis)))
        return worker

    yield start
    for worker in started:
        worker.stop()
