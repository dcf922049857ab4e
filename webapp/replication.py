"""Submits answered 202 only once replicas hold them: `SUBMIT_REPLICAS` (0, the default: once
the primary has them).

    admitted = replication.execute(connection, pipe, gated=True)   # raises NotCopied

Redis replicates asynchronously, so a primary that dies in the moment after a 202 can take the
job with it, and Sentinel then promotes a replica that never had it. `WAIT n ms`, sent on the
connection that ran the submit's script, blocks until n replicas hold its writes or the time is
up; it costs a round trip to the replica on every submit, which is why it is a setting.
"""

from __future__ import annotations

from flask import current_app
from redis import Redis
from redis.client import Pipeline

from jobs.core import transaction
from webapp.exceptions import NotCopied


def execute(connection: Redis, pipe: Pipeline, *, gated: bool) -> bool:
    """Run the submit's transaction (see jobs.core.transaction); raise NotCopied if it ran but
    fewer replicas than SUBMIT_REPLICAS hold it in time."""
    replicas = current_app.config["SUBMIT_REPLICAS"]
    if replicas <= 0:
        return transaction.execute(connection, pipe, gated=gated)
    timeout_ms = current_app.config["SUBMIT_REPLICA_TIMEOUT_MS"]
    ran, copied = transaction.execute_and_wait(connection, pipe, replicas, timeout_ms, gated=gated)
    if ran and copied < replicas:
        raise NotCopied(
            f"Spool's database could not copy the job to {replicas} replica(s) within {timeout_ms} ms, "
            "so it was not accepted and nothing of it was kept. Try again in a few seconds."
        )
    return ran
