"""Spool across test hosts (network namespaces): one cluster for the module that asks for it.

The cluster's processes inherit the suite's environment (its test job types among it), with
REDIS_URL naming the cluster's sentinels. While the cluster stands, the test thread speaks
from the client host; leaving it (whatever happened) stops everything and removes the hosts.
"""

from __future__ import annotations

import pytest

from scale.hosts import why_not_available
from scale.redis_hosts import binary


def _missing() -> str | None:
    reason = why_not_available()
    if reason:
        return reason
    absent = [b for b in ("redis-server", "redis-sentinel", "haproxy") if not binary(b)]
    return f"not installed: {', '.join(absent)} (.ci/run and `make scale` install them)" if absent else None


@pytest.fixture(scope="module")
def cluster():
    if reason := _missing():
        pytest.skip(f"cannot build test hosts: {reason}")
    from scale.cluster import Cluster

    with Cluster(workers=4) as built:
        yield built


@pytest.fixture
def client(cluster):
    client = cluster.client()
    yield client
    client.close()
