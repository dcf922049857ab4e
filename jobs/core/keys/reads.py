"""Reads of RQ's job hash and of Spool's small records, for the places that must not fetch
whole jobs: one round trip for many jobs.
"""

from __future__ import annotations

import json
from datetime import datetime

from redis.commands.core import Script
from rq.queue import Queue
from rq.registry import StartedJobRegistry
from rq.utils import utcformat

from jobs.core import payloads
from jobs.core.keys.indexes import INDEX_FILES_FIELD
from jobs.core.keys.names import (
    SEQ_FIELD,
    job_key,
    log_key,
    output_key,
    output_rows_key,
    run_time_key,
)

__all__ = [
    "enqueued_at",
    "existing",
    "forbid_retries",
    "lapsed_heartbeats",
    "mark_ended",
    "queue_position",
    "queue_positions",
    "record_run_time",
    "run_time",
    "seq",
    "statuses",
    "statuses_and_types",
    "stream_state",
    "upload_names",
]


def statuses(client, job_ids: list[str]) -> list[str | None]:
    """RQ's status of each job (None for one that is gone), in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(job_key(job_id), "status")
        raw = pipe.execute()
    return [s.decode() if s else None for s in raw]


def seq(client, job_id: str) -> int:
    """The number of the last event published for a job."""
    return int(client.hget(job_key(job_id), SEQ_FIELD) or 0)


_STREAM_STATE = Script(
    None,
    b"""
return {
  redis.call('HGET', KEYS[1], ARGV[1]) or false,
  redis.call('LRANGE', KEYS[2], -tonumber(ARGV[2]), -1),
  redis.call('HGETALL', KEYS[3]),
  redis.call('LRANGE', KEYS[4], 0, -1),
}
""",
)


def stream_state(client, job_id: str, log_lines: int = 100) -> tuple[int, list[str], dict]:
    """A job's last event number with its log's last lines and its output, read together in one
    script (atomic, as the writer's is), so they hold exactly the events up to that number: a
    client that then applies later events by seq neither misses nor repeats any.

    A script, not MULTI: Redis 6 refuses even reads queued in a transaction while it is over
    its memory limit, and a job's page must still show it then.
    """
    number, lines, flat, rows = _STREAM_STATE(
        keys=[job_key(job_id), log_key(job_id), output_key(job_id), output_rows_key(job_id)],
        args=[SEQ_FIELD, log_lines],
        client=client,
    )
    fields = {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
    output = {
        "columns": json.loads(fields["columns"]) if "columns" in fields else None,
        "rows": [json.loads(row) for row in rows],
        "text": fields.get("text", ""),
        "values": {k[2:]: json.loads(v) for k, v in fields.items() if k.startswith("v:")},
        "truncated": "truncated" in fields,
    }
    return int(number or 0), [line.decode() for line in lines], output


def enqueued_at(client, job_id: str) -> str | None:
    raw = client.hget(job_key(job_id), "enqueued_at")
    return raw.decode() if raw else None


def statuses_and_types(client, job_ids: list[str]) -> list[tuple[str, str | None] | None]:
    """(status, type) of each job, None for one that is gone, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(job_key(job_id), "status", "meta")
        rows = pipe.execute()
    return [None if state is None else (state.decode(), _meta_or_empty(meta).get("type")) for state, meta in rows]


_RECORD_RUN_TIME = """
local previous = redis.call('GET', KEYS[1])
local average = tonumber(ARGV[1])
if previous then average = 0.9 * tonumber(previous) + 0.1 * average end
redis.call('SET', KEYS[1], string.format('%.3f', average), 'EX', ARGV[2])
"""


def record_run_time(client, queue_name: str, seconds: float) -> None:
    """Fold one finished job's run time into its queue's moving average (a tenth each), in one
    round trip that `client` may be a pipeline's, and without losing another worker's update."""
    client.eval(_RECORD_RUN_TIME, 1, run_time_key(queue_name), repr(seconds), 7 * 24 * 3600)


def run_time(client, queue_name: str) -> float | None:
    raw = client.get(run_time_key(queue_name))
    return float(raw) if raw is not None else None


def queue_positions(client, job_ids: list[str]) -> list[int | None]:
    """Each waiting job's place in its own queue (1 = next), in two round trips for them all."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(job_key(job_id), "origin")
        origins = pipe.execute()
    with client.pipeline(transaction=False) as pipe:
        for job_id, origin in zip(job_ids, origins, strict=True):
            pipe.lpos(Queue.redis_queue_namespace_prefix + (origin or b"").decode(), job_id)
        return [None if index is None else index + 1 for index in pipe.execute()]


def queue_position(client, queue_key: str, job_id: str) -> int | None:
    """A waiting job's place in its queue's list, 1 for the next to run; None when not in it."""
    index = client.lpos(queue_key, job_id)
    return None if index is None else index + 1


def _meta_or_empty(raw: bytes | None) -> dict:
    """A job's meta read without RQ, even one RQ's CLI saved pickled (see jobs.core.payloads)."""
    try:
        return payloads.meta(raw) if raw else {}
    except payloads.UnsafePayload:
        return {}


def existing(client, job_ids: list[str]) -> list[bool]:
    """Whether each job still exists, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(job_key(job_id))
        return [bool(n) for n in pipe.execute()]


def lapsed_heartbeats(client, queue_names, now: float) -> dict[str, float]:
    """The running jobs of these queues whose heartbeat lapsed before `now`, with when it lapsed.

    RQ scores each execution in a queue's started registry by when its heartbeat expires;
    a worker renews it while the job runs, and nobody does once the worker is dead.
    """
    registries = [StartedJobRegistry(name, connection=client) for name in queue_names]
    with client.pipeline(transaction=False) as pipe:
        for registry in registries:
            pipe.zrangebyscore(registry.key, 0, now, withscores=True)
        found = pipe.execute()
    return {
        registry.parse_job_id(member.decode()): score
        for registry, members in zip(registries, found, strict=True)
        for member, score in members
    }


def forbid_retries(client, job_id: str) -> None:
    """Leave a job no retries, so RQ fails it for good when it is next handled."""
    client.hset(job_key(job_id), "retries_left", 0)


def mark_ended(client, job_id: str, when: datetime) -> None:
    """Record when a job ended where RQ left it blank: its process died before it could say."""
    client.hset(job_key(job_id), "ended_at", utcformat(when))


def upload_names(client, job_ids: list[str]) -> list[list[str]]:
    """The names of each job's uploaded files, as its submit recorded them, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(job_key(job_id), INDEX_FILES_FIELD)
        raw = pipe.execute()
    return [json.loads(r) if r else [] for r in raw]
