"""With SUBMIT_REPLICAS, a 202 means a replica holds the job, not only the primary.

Redis replicates asynchronously: a primary that dies just after answering can take a job
with it. A replica frozen with SIGSTOP holds nothing new, so a submit that must be copied to
it is refused (and leaves nothing behind); thawed, it catches up and submits are copied again.
"""

from __future__ import annotations

import os
import signal

import pytest

from jobs.core import keys
from tests.helpers import wait_for
from tests.processes import RedisServer


@pytest.fixture
def replica(own_redis):
    server = RedisServer(extra=("--replicaof", "127.0.0.1", str(own_redis.port))).start()
    primary = own_redis.client()
    wait_for(lambda: primary.info("replication")["connected_slaves"] == 1, 10, "the replica to connect")
    wait_for(lambda: primary.info("replication").get("slave0", {}).get("state") == "online", 10, "the replica to sync")
    yield server
    os.killpg(server.server.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture
def copied_client(own_redis, replica):
    from webapp import create_app

    app = create_app(
        {"TESTING": True, "REDIS_URL": own_redis.url, "SUBMIT_REPLICAS": 1, "SUBMIT_REPLICA_TIMEOUT_MS": 300}
    )
    return app.test_client()


def submit(client):
    return client.post("/api/jobs", json={"type": "primes", "params": {"limit": 10}})


def test_a_submit_is_answered_once_the_replica_holds_it(copied_client, replica):
    response = submit(copied_client)
    assert response.status_code == 202, response.get_json()
    assert replica.client().exists(keys.job_key(response.get_json()["id"]))


def test_a_submit_no_replica_could_copy_is_503_and_leaves_no_job(copied_client, own_redis, replica):
    primary = own_redis.client()
    copied_client.get("/")
    before = set(primary.keys("*"))
    os.killpg(replica.server.pid, signal.SIGSTOP)
    response = submit(copied_client)
    assert response.status_code == 503, response.get_json()
    assert "replica" in response.get_json()["error"]["message"]
    assert response.headers["Retry-After"]
    # Only the queue's own bookkeeping is new: no job, log, owner index, search entry or quota.
    new = set(primary.keys("*")) - before
    assert all(key == b"rq:queues" or key.startswith(b"spool:fair:") for key in new), new
    assert not copied_client.get("/api/jobs").get_json()["jobs"]
    os.killpg(replica.server.pid, signal.SIGCONT)
    again = submit(copied_client)
    assert again.status_code == 202, again.get_json()
    assert replica.client().exists(keys.job_key(again.get_json()["id"]))
