"""Every Redis key Spool writes, the fields it reads from RQ's job hash, and the job-meta schema.

    keys.owner_key(owner)            # the owner's index of job ids (a sorted set)
    keys.statuses(pipe_or_conn, ids) # RQ's status field of many jobs, in one round trip
    Meta.of(job).owner               # the typed view of a job's meta

Web and workers agree on these names; no other module formats a key or reads RQ's job hash
by field name. RQ's own keys (`rq:job:<id>`, `rq:queue:<name>`, its registries) are built by
RQ's classes; the job hash's name is taken from `Job.key_for` rather than spelled here again.
Every key that belongs to one job (its log, files, stop flag, mail markers) is named after the
job id under `spool:`, so housekeeping can find what a vanished job left behind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import quote, unquote

from rq.job import Job
from rq.registry import StartedJobRegistry

PREFIX = "spool:"
CHANNEL_PREFIX = PREFIX + "events:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"
# A job's event counter, kept in RQ's job hash so that it expires with the job.
SEQ_FIELD = "spool_seq"
TOKENS_BY_HASH = PREFIX + "tokens:by-hash"
TOKENS_BY_NAME = PREFIX + "tokens:by-name"
OWNER_PREFIX = PREFIX + "owner:"


def job_key(job_id: str) -> str:
    """RQ's hash of one job."""
    return Job.key_for(job_id)


def channel(job_id: str) -> str:
    return CHANNEL_PREFIX + job_id


def log_key(job_id: str) -> str:
    return f"{PREFIX}log:{job_id}"


def stop_key(job_id: str) -> str:
    """Marks a running job that its owner asked to stop, in case its worker is gone and cannot."""
    return f"{PREFIX}stop:{job_id}"


def files_key(job_id: str) -> str:
    return f"{PREFIX}files:{job_id}"


def files_index_key(job_id: str) -> str:
    return f"{PREFIX}files:{job_id}:index"


def upload_key(ref: str) -> str:
    return f"{PREFIX}upload:{ref}"


def mail_key(job_id: str, outcome: str, state: str) -> str:
    """Marks that a job's email for an outcome was queued or sent, so it goes out once."""
    return f"{PREFIX}mail:{job_id}:{outcome}:{state}"


def escape(value: str) -> str:
    """A caller-chosen string made safe inside a key and a SCAN pattern.

    Everything but letters, digits, '_.-~' and ':' is percent-encoded, so no glob character,
    space or control character reaches a key; ':' is kept, as owners are `token:<name>` or
    `user:<name>` and their indexes keep the names they had before escaping.
    """
    return quote(value, safe=":")


def owner_key(owner: str) -> str:
    """The owner's index: job ids scored by submit time, expiring as their jobs do."""
    return OWNER_PREFIX + escape(owner)


def owner_of_key(key: bytes | str) -> str:
    """The owner an index key belongs to (the inverse of `owner_key`)."""
    text = key.decode() if isinstance(key, bytes) else key
    return unquote(text.removeprefix(OWNER_PREFIX))


def idempotency_key(owner: str, key: str) -> str:
    return f"{PREFIX}idempotency:{escape(owner)}:{hashlib.sha256(key.encode()).hexdigest()}"


def operator_failures_key(address: str) -> str:
    return f"{PREFIX}operator-failures:{escape(address)}"


# Cluster-wide counters that only ever rise, for /metrics (jobs.core.measures): a hash of
# totals, and one of finished jobs' run times by type and duration bucket.
TOTALS = PREFIX + "metrics:totals"
DURATIONS = PREFIX + "metrics:durations"


# The web processes alive, scored by their last heartbeat (a sorted set), and each one's own
# hash of the sockets it holds: "open", "owner:<owner>", "address:<address>" -> how many.
WEB_PROCESSES = PREFIX + "web-processes"


def web_process_key(process_id: str) -> str:
    return f"{PREFIX}web:{process_id}"


def socket_field(kind: str, value: str) -> str:
    """The field of a web process's hash counting the sockets of one owner or one address."""
    return f"{kind}:{escape(value)}"


# Keys that hold one job's things, by the prefix that comes before the job id; housekeeping
# deletes those whose job is gone.
PER_JOB_PREFIXES = (log_key(""), files_key(""), stop_key(""))


def job_id_in(key: bytes | str, prefix: str) -> str:
    """The job id in one of the PER_JOB_PREFIXES keys."""
    text = key.decode() if isinstance(key, bytes) else key
    return text.removeprefix(prefix).removesuffix(":index")


# Reads of RQ's job hash by field name, for the places that must not fetch whole jobs.


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


def enqueued_at(client, job_id: str) -> str | None:
    raw = client.hget(job_key(job_id), "enqueued_at")
    return raw.decode() if raw else None


def run_records(client, job_ids: list[str]) -> list[tuple[str, str | None, str | None, str | None] | None]:
    """(status, type, started_at, ended_at) of each job, None for one that is gone, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(job_key(job_id), "status", "meta", "started_at", "ended_at")
        rows = pipe.execute()
    records = []
    for state, meta, started, ended in rows:
        if state is None:
            records.append(None)
            continue
        type_name = (json.loads(meta) if meta else {}).get("type")
        records.append((state.decode(), type_name, started and started.decode(), ended and ended.decode()))
    return records


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


class Progress(TypedDict):
    """What `progress()` stores in the meta and sends in a progress event."""

    done: float
    total: float | None
    percent: float | None
    message: str | None
    eta_s: float | None
    elapsed_s: float
    updated_at: float


@dataclass(frozen=True)
class Meta:
    """The fields Spool keeps in RQ's job meta. Written at enqueue, except `progress`."""

    type: str | None = None
    owner: str | None = None
    request_id: str | None = None
    notify_email: str | None = None
    progress: Progress | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    FIELDS = ("type", "owner", "request_id", "notify_email", "progress")

    @classmethod
    def of(cls, job: Job) -> Meta:
        meta = job.meta if isinstance(job.meta, dict) else {}
        return cls(
            **{name: meta.get(name) for name in cls.FIELDS},
            extra={k: v for k, v in meta.items() if k not in cls.FIELDS},
        )

    def as_dict(self) -> dict[str, Any]:
        """The meta to enqueue with: fields left None are not stored."""
        return {**self.extra, **{n: getattr(self, n) for n in self.FIELDS if getattr(self, n) is not None}}
