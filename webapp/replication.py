"""Submits answered 202 only once replicas hold them: `SUBMIT_REPLICAS` (0, the default: once
the primary has them).

    with replication.pipeline() as pipe:   # a transaction, then WAIT when SUBMIT_REPLICAS > 0
        ...; pipe.execute()
    replication.check(pipe)                 # raises NotCopied if too few replicas hold it

Redis replicates asynchronously, so a primary that dies in the moment after a 202 can take the
job with it, and Sentinel then promotes a replica that never had it. `WAIT n ms` blocks until n
replicas hold every write made on the connection it is sent on, or the time is up; it costs a
round trip to the replica on every submit, which is why it is a setting.
"""

from __future__ import annotations

from flask import current_app
from redis.client import Pipeline

from webapp.exceptions import NotCopied
from webapp.resources import redis


class CopiedPipeline(Pipeline):
    """A transaction followed by WAIT on the connection that ran it.

    WAIT counts the replicas holding the writes of its own connection, and redis-py gives a
    pipeline's connection back to the pool as soon as execute() returns, before anyone could
    send WAIT on it; so it is sent here, inside the execution, right after EXEC.
    """

    def __init__(self, connection, replicas: int, timeout_ms: int):
        super().__init__(connection.connection_pool, connection.response_callbacks, True, None)
        self.replicas, self.timeout_ms = replicas, timeout_ms
        self.copied: int | None = None

    def _execute_transaction(self, connection, commands, raise_on_error):
        response = super()._execute_transaction(connection, commands, raise_on_error)
        connection.send_command("WAIT", self.replicas, self.timeout_ms)
        self.copied = int(connection.read_response())
        return response


def pipeline() -> Pipeline:
    """The submit's transaction: one that waits for the replicas when SUBMIT_REPLICAS asks for some."""
    replicas = current_app.config["SUBMIT_REPLICAS"]
    if replicas <= 0:
        return redis().pipeline()
    return CopiedPipeline(redis(), replicas, current_app.config["SUBMIT_REPLICA_TIMEOUT_MS"])


def check(pipe: Pipeline) -> None:
    """Raise NotCopied if the transaction reached fewer replicas than asked for."""
    if isinstance(pipe, CopiedPipeline) and (pipe.copied or 0) < pipe.replicas:
        raise NotCopied(
            f"Spool's database could not copy the job to {pipe.replicas} replica(s) within "
            f"{pipe.timeout_ms} ms, so it was not accepted and nothing of it was kept. Try again in a few seconds."
        )
