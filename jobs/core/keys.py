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
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import quote, unquote

from rq.job import Job
from rq.registry import StartedJobRegistry

from jobs.core import payloads

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


MAIL_OUTCOMES = ("finished", "failed", "stopped")
MAIL_STATES = ("queued", "sent")


def job_keys(job_id: str) -> list[str]:
    """Every key of Spool's own that belongs to one job (RQ's hash and results are RQ's)."""
    mail = [mail_key(job_id, o, s) for o in MAIL_OUTCOMES for s in MAIL_STATES]
    return [log_key(job_id), files_key(job_id), files_index_key(job_id), stop_key(job_id), *mail]


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


def operator_failures_key(door: str, address: str) -> str:
    """Wrong operator passwords one address sent to one door (the sign-in page, or /metrics)."""
    return f"{PREFIX}operator-failures:{door}:{escape(address)}"


def operator_session_key(session_id: str) -> str:
    """One operator sign-in: the fingerprint of the password it was made with, expiring with it."""
    return f"{PREFIX}operator-session:{session_id}"


# Fair turns within a queue (see jobs.core.fair): the job's place in the order is kept in its hash.
FAIR_FIELD = "spool_fair"
# Every concurrency limit that has parked jobs, with how many may run (see jobs.core.limits).
LIMITS = PREFIX + "limits"


def fair_keys(queue_name: str) -> tuple[str, str, str, str]:
    """A queue's fair order (a sorted set), each owner's last round, the current round, a counter."""
    base = f"{PREFIX}fair:{escape(queue_name)}"
    return f"{base}:order", f"{base}:last", f"{base}:round", f"{base}:seq"


def slots_key(limit: str) -> str:
    """The running jobs that hold a slot of one concurrency limit (see jobs.core.limits)."""
    return f"{PREFIX}slots:{escape(limit)}"


def held_key(limit: str) -> str:
    """The jobs waiting, in order, for a slot of one concurrency limit."""
    return f"{PREFIX}held:{escape(limit)}"


def run_time_key(queue_name: str) -> str:
    """How long a queue's recent jobs ran: a moving average, for the expected wait."""
    return f"{PREFIX}runtime:{escape(queue_name)}"


def waiting_key(owner: str) -> str:
    """The owner's jobs that may still be waiting (queued, scheduled, deferred), scored by submit
    time: what MAX_WAITING_PER_OWNER counts, pruned of jobs that have started or ended."""
    return f"{PREFIX}waiting:{escape(owner)}"


def new_owners_key(address: str) -> str:
    """How many anonymous owners a client address was given in the current hour."""
    return f"{PREFIX}new-owners:{escape(address)}"


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
PER_JOB_PREFIXES = (log_key(""), files_key(""), stop_key(""), f"{PREFIX}mail:")


def job_id_in(key: bytes | str, prefix: str) -> str:
    """The job id in one of the PER_JOB_PREFIXES keys (what follows it, up to any ':')."""
    text = key.decode() if isinstance(key, bytes) else key
    return text.removeprefix(prefix).split(":", 1)[0]


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
        type_name = _meta_or_empty(meta).get("type")
        records.append((state.decode(), type_name, started and started.decode(), ended and ended.decode()))
    return records


def record_run_time(client, queue_name: str, seconds: float) -> None:
    """Fold one finished job's run time into its queue's moving average (a tenth each)."""
    key = run_time_key(queue_name)
    previous = client.get(key)
    average = seconds if previous is None else 0.9 * float(previous) + 0.1 * seconds
    client.set(key, round(average, 3), ex=7 * 24 * 3600)


def run_time(client, queue_name: str) -> float | None:
    raw = client.get(run_time_key(queue_name))
    return float(raw) if raw is not None else None


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


WAITING_FOR = "waiting_for"


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
    """The fields Spool keeps in RQ's job meta. Written at enqueue, except `progress` (and `owner`
    when an anonymous owner's jobs are kept by the user they signed in as)."""

    type: str | None = None
    owner: str | None = None
    request_id: str | None = None
    notify_email: str | None = None
    progress: Progress | None = None
    # What a job parked by a concurrency limit waits for, in words (see jobs.core.limits).
    waiting_for: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    FIELDS = ("type", "owner", "request_id", "notify_email", "progress", "waiting_for")

    @classmethod
    def of(cls, job: Job) -> Meta:
        meta = job.meta if isinstance(job.meta, dict) else {}
        return cls(
            **{name: meta.get(name) for name in cls.FIELDS},
            extra={k: v for k, v in meta.items() if k not in cls.FIELDS},
        )

    @staticmethod
    def set_owner(job: Job, owner: str) -> None:
        """Give a job to another owner (its meta's one field that may change after enqueue)."""
        job.meta["owner"] = owner
        job.save_meta()

    def as_dict(self) -> dict[str, Any]:
        """The meta to enqueue with: fields left None are not stored."""
        return {**self.extra, **{n: getattr(self, n) for n in self.FIELDS if getattr(self, n) is not None}}
