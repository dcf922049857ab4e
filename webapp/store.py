"""The web's view of jobs: submit, read, list, cancel, retry, all scoped to an owner.

This module is the one reader of the meta that `jobs.progress` writes.

    store.submit(job_type, values, owner=owner_id())   # -> rq Job
    store.get(job_id, owner)                           # -> rq Job, or aborts 404
    store.snapshot(job)                                # -> what a page, the API and a socket show
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime

from flask import Flask, abort, current_app
from redis import Redis
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from jobs import catalogue, events, files, notify
from jobs.catalogue import JobType
from jobs.runtime import SpoolJob, cancel_dependents, queue
from jobs.settings import connect
from webapp import auth, logs

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WAITING = frozenset({"queued", "scheduled", "deferred"})
# Pages past this are empty anyway; bounding them keeps Redis's ranges within 64 bits.
LAST_PAGE = 100_000
FILTER_SCAN = 2000


class Conflict(Exception):
    """The job is in a state that does not allow the request (already over, say)."""


def init_app(app: Flask) -> None:
    catalogue.load()
    # Every request and socket is a greenlet: a burst of them (a thousand sockets opening) must
    # queue for the pool's connections, not fail past redis-py's default of 100.
    connection = connect(app.config["REDIS_URL"], pool_wait=10, max_connections=100)
    app.extensions["spool"] = {"redis": connection, "queues": {}}


def redis() -> Redis:
    return current_app.extensions["spool"]["redis"]


def _queue(name: str):
    queues = current_app.extensions["spool"]["queues"]
    if name not in queues:
        queues[name] = queue(name, redis())
    return queues[name]


def submit(
    job_type: JobType,
    values: dict,
    *,
    owner: str,
    notify_email: str | None = None,
    start_at: datetime | None = None,
    job_id: str | None = None,
) -> Job:
    """Enqueue a validated job for `owner`, and index it under them, in one round trip.

    With `start_at` (aware, UTC) it waits in RQ's scheduled registry until then. `job_id`
    is for a caller that had to name the job before enqueueing it (an idempotent submit).
    """
    ttl = current_app.config["RESULT_TTL"]
    job_id = job_id or uuid.uuid4().hex
    meta = {"type": job_type.name, "owner": owner, "request_id": logs.request_id()}
    extra = {}
    if notify_email:
        meta["notify_email"] = notify_email
        extra = notify.callbacks()
    connection = redis()
    options = dict(
        job_id=job_id,
        retry=job_type.retry,
        result_ttl=ttl,
        failure_ttl=ttl,
        description=job_type.title,
        meta=meta,
        **extra,
    )
    with connection.pipeline() as pipe:
        if start_at is None:
            job = _queue(job_type.queue).enqueue_call(
                job_type.func, kwargs=values, timeout=job_type.timeout, pipeline=pipe, **options
            )
        else:
            job = _queue(job_type.queue).enqueue_at(
                start_at, job_type.func, args=(), kwargs=values, job_timeout=job_type.timeout, pipeline=pipe, **options
            )
        pipe.zadd(events.owner_key(owner), {job_id: time.time()})
        pipe.expire(events.owner_key(owner), ttl)
        pipe.execute()
    return job


def status_of(job: Job, refresh: bool = True) -> str:
    status = job.get_status(refresh=refresh)
    return getattr(status, "value", status)


def fetch(job_id: str) -> Job | None:
    if not JOB_ID.match(job_id):
        return None
    try:
        return SpoolJob.fetch(job_id, connection=redis(), serializer=_queue("default").serializer)
    except NoSuchJobError:
        return None


def get(job_id: str, owner: str) -> Job:
    """The owner's job, or 404: someone else's job is indistinguishable from none.

    A signed-in operator may see anyone's job.
    """
    job = fetch(job_id)
    if job is None or (job.meta.get("owner") != owner and not auth.is_operator()):
        abort(404, description="There is no such job, or it is not yours.")
    return job


def list_for(
    owner: str, *, page: int = 1, per_page: int = 20, status: str | None = None, type_name: str | None = None
) -> tuple[list[Job], int]:
    """The owner's jobs, newest first, one page at a time; expired ones are forgotten.

    A status or type filter searches the owner's newest FILTER_SCAN jobs.
    """
    key = events.owner_key(owner)
    connection = redis()
    start = (min(page, LAST_PAGE) - 1) * per_page
    if status is None and type_name is None:
        total = connection.zcard(key)
        ids = connection.zrevrange(key, start, start + per_page - 1)
        jobs = _fetch_listed(key, ids)
        return jobs, total - (len(ids) - len(jobs))
    matches = [
        job
        for job in _fetch_listed(key, connection.zrevrange(key, 0, FILTER_SCAN - 1))
        if (status is None or status_of(job, refresh=False) == status)
        and (type_name is None or job.meta.get("type") == type_name)
    ]
    return matches[start : start + per_page], len(matches)


def _fetch_listed(key: str, raw_ids: list[bytes]) -> list[Job]:
    """Fetch listed jobs in one round trip, dropping from the list those that expired."""
    ids = [i.decode() for i in raw_ids]
    jobs = SpoolJob.fetch_many(ids, connection=redis(), serializer=_queue("default").serializer)
    gone = [job_id for job_id, job in zip(ids, jobs, strict=True) if job is None]
    if gone:
        redis().zrem(key, *gone)
    return [j for j in jobs if j is not None]


def cancel(job: Job) -> str:
    """Cancel a waiting job or stop a running one; return the status it is heading to."""
    status = status_of(job)
    if status in WAITING:
        try:
            job.cancel()
        except InvalidJobOperation:
            raise Conflict(f"The job is already {status_of(job)}.") from None
        events.publish_status(redis(), job.id, "canceled")
        cancel_dependents(job)
        return "canceled"
    if status == "started":
        redis().set(events.stop_key(job.id), 1, ex=current_app.config["RESULT_TTL"])
        send_stop_job_command(redis(), job.id, serializer=job.serializer)
        return "stopping"
    raise Conflict(f"The job is already {status}; there is nothing to cancel.")


def job_type_of(job: Job) -> JobType | None:
    return catalogue.CATALOGUE.get(job.meta.get("type", ""))


def resubmit(old: Job, *, owner: str) -> Job:
    """Submit a new job of the same type with the same parameters as `old`."""
    job_type = job_type_of(old)
    if job_type is None:
        raise Conflict("This job's type no longer exists, so it cannot be run again.")
    return submit(job_type, job_type.validate(old.kwargs), owner=owner)


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def explain(exc_string: str | None, status: str) -> dict | None:
    """Turn what RQ recorded about a failure into words for the person who ran the job."""
    if status == "stopped":
        return {"message": "The job was stopped on request.", "detail": None}
    if status == "canceled":
        return {"message": "The job was canceled before it ran.", "detail": None}
    if status != "failed":
        return None
    detail = (exc_string or "").strip()
    last = detail.splitlines()[-1] if detail else ""
    if "JobTimeoutException" in last:
        seconds = re.search(r"\((\d+) seconds\)", last)
        limit = seconds.group(1) if seconds else "its time limit in"
        message = f"The job timed out after {limit} second{'' if limit == '1' else 's'}."
    elif "terminated unexpectedly" in detail or "Work-horse" in detail:
        message = "The worker running this job stopped unexpectedly (it may have run out of memory or been killed)."
    elif "abandoned" in detail.lower() or not detail:
        message = "The worker running this job disappeared before it finished."
    elif "NotInCatalogue" in last:
        message = "This job names a function that is not in the catalogue, so it was refused."
    else:
        name, _, text = last.partition(": ")
        message = text.strip() or name.strip() or "The job failed."
    return {"message": message, "detail": detail or None}


def _dependency_ended(job: Job) -> bool:
    """Whether a job that this one waited for ended without finishing."""
    ids = job.dependency_ids
    if not ids:
        return False
    with redis().pipeline(transaction=False) as pipe:
        for dependency_id in ids:
            pipe.hget(events.job_key(dependency_id), "status")
        statuses = pipe.execute()
    return any(s in (b"failed", b"stopped", b"canceled") for s in statuses)


def _attempts(job: Job, job_type: JobType | None, status: str) -> dict:
    """Which attempt this is (or, while waiting to be retried, will be) out of how many at most.

    RQ counts retries after an exception (or a lost worker) down in `retries_left`, and
    retries that a job asked for by returning `Retry` up in `number_of_retries`.
    """
    policy = job_type.retry if job_type else None
    used = job.number_of_retries or 0
    if policy is not None and job.retries_left is not None:
        used += max(0, policy.max - job.retries_left)
    retry_at = _scheduled_for(job) if status == "scheduled" and used else None
    return {"attempt": used + 1, "attempts": policy.max + 1 if policy else 1, "retry_at": retry_at}


def _scheduled_for(job: Job) -> str | None:
    """When a scheduled job (run later, or a retry's wait) will be enqueued."""
    try:
        return _iso(_queue(job.origin).scheduled_job_registry.get_scheduled_time(job))
    except NoSuchJobError:
        return None


def snapshot(job: Job) -> dict:
    """Everything known about a job now: for pages, the API and the first socket message."""
    connection = redis()
    job.refresh()
    seq_raw = connection.hget(events.job_key(job.id), events.SEQ_FIELD)
    status = status_of(job, refresh=False)
    job_type = job_type_of(job)
    result = error = None
    if status == "finished":
        result = job.return_value()
    elif status in ("failed", "stopped", "canceled"):
        latest = job.latest_result() if status == "failed" else None
        error = explain(latest.exc_string if latest else None, status)
        if status == "canceled" and _dependency_ended(job):
            error["message"] = "The job was canceled because a job it waited for was stopped or failed."
    base = f"/api/jobs/{job.id}"
    return {
        "id": job.id,
        "type": job.meta.get("type"),
        "title": job_type.title if job_type else job.description,
        "status": status,
        "seq": int(seq_raw or 0),
        "params": job.kwargs,
        "progress": job.meta.get("progress"),
        "log": [line.decode() for line in connection.lrange(events.log_key(job.id), -100, -1)],
        "result": result,
        "error": error,
        **_attempts(job, job_type, status),
        "created_at": _iso(job.created_at),
        "enqueued_at": _iso(job.enqueued_at),
        "started_at": _iso(job.started_at),
        "ended_at": _iso(job.ended_at),
        "scheduled_for": _scheduled_for(job) if status == "scheduled" else None,
        "files": [{**f, "url": f"{base}/files/{f['name']}"} for f in files.listing(connection, job.id)],
        "urls": {"self": base, "page": f"/jobs/{job.id}", "ws": f"/ws/jobs/{job.id}"},
    }


def summary(job: Job) -> dict:
    """The short form of a job for lists."""
    job_type = job_type_of(job)
    return {
        "id": job.id,
        "type": job.meta.get("type"),
        "title": job_type.title if job_type else job.description,
        "status": status_of(job, refresh=False),
        "progress": job.meta.get("progress"),
        "created_at": _iso(job.created_at),
        "ended_at": _iso(job.ended_at),
        "urls": {"self": f"/api/jobs/{job.id}", "page": f"/jobs/{job.id}"},
    }
