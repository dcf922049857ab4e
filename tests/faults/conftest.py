"""What fault tests add to the suite's fixtures: workers tuned to notice a dead worker in
seconds, a directory where jobs mark their attempts, and a redis-server of the test's own,
which it may stop and restart without disturbing the others (with workers and web servers on it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.environment import VAR
from tests.processes import RedisServer

# A heartbeat every second that lapses two seconds after a missed one, and a look for lapsed
# jobs every second, so that an abandoned job is noticed within about five seconds.
FAST = {"JOB_MONITORING_INTERVAL": "1", "HEARTBEAT_GRACE": "2", "MAINTENANCE_INTERVAL": "1", "WORKER_TTL": "16"}


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
    server = RedisServer().start()
    yield server
    server.stop()


# The fixtures on the test's own Redis ask for it first, so that it is started before, and
# stopped after, the processes that use it.


@pytest.fixture
def own_worker(own_redis, fast_worker):
    """Start real workers on the test's own Redis, with the fast settings (plus `env`)."""

    def start(*queues: str, env: dict | None = None):
        return fast_worker(*queues, env={"REDIS_URL": own_redis.url, **(env or {})})

    return start


@pytest.fixture
def own_web(own_redis, start_web):
    """Start a real gunicorn web server on the test's own Redis (plus `env`)."""

    def start(env: dict | None = None):
        return start_web({"REDIS_URL": own_redis.url, **(env or {})})

    return start
