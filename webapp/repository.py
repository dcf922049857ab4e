"""The jobs of the web app: submit, read, list, cancel and run again, all scoped to an owner.

    repository.submit(job_type, values, owner=owner_id())   # -> rq Job
    repository.get(job_id, owner)                           # -> rq Job, or aborts 404

How a job is shown (snapshots, summaries) is webapp.snapshots'.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime

from flask import abort, after_this_request
from redis.exceptions import RedisError
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from jobs.core import (
    catalogue,
    events,
    fanout,
    files,
    index,
    keys,
    notify,
    purge,
    search,
    status,
    tracing,
    transaction,
    webhooks,
)
from jobs.core.catalogue import JobType
from jobs.core.dependents import cancel_dependents
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta
from jobs.core.search import Filters
from webapp import audit, auth, logs, quotas, replication
from webapp.exceptions import Conflict, NotCopied
from webapp.resources import queue, redis, settings

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Pages past this are empty anyway; bounding them keeps Redis's ranges within 64 bits.
LAST_PAGE = 100_000
MAX_PER_PAGE = 100


def submit(
    job_type: JobType,
    values: dict,
    *,
    owner: str,
    notify_email: str | None = None,
    start_at: datetime | None = None,
    job_id: str | None = None,
    claim: str | None = None,
    webhook_url: str | None = None,
) -> Job:
    """Enqueue a validated job for `owner`, and index it under them, in one round trip;
    raise OverQuota, having written nothing, if they have as many jobs waiting as they may.

    With `start_at` (aware, UTC) it waits in RQ's scheduled registry until then. `job_id`
    is for a caller that had to name the job before enqueueing it (an idempotent submit);
    `claim`, the key that caller claimed, is kept as long as the job, in the same transaction.
    If Redis refuses the transaction, nothing of it is written and the job's uploads are forgotten.
    """
    ttl = settings().result_ttl
    job_id = job_id or uuid.uuid4().hex
    meta = Meta(
        type=job_type.name,
        owner=owner,
        request_id=logs.request_id(),
        notify_email=notify_email or None,
        webhook_url=webhook_url,
    )
    extra = notify.callbacks() if notify_email else {}
    options = dict(
        job_id=job_id,
        retry=job_type.retry,
        result_ttl=ttl,
        failure_ttl=ttl,
        description=job_type.title,
        meta=meta.as_dict(),
        **extra,
    )
    try:
        with tracing.span(f"enqueue {job_type.name}", kind="producer", attributes={"spool.job.id": job_id}):
            job = _enqueue(job_type, values, owner, start_at, options, claim)
    except Exception:
        quotas.release(owner, job_id)
        raise
    if job is None:
        raise quotas.over_waiting()
    return job


def _enqueue(
    job_type: JobType, values: dict, owner: str, start_at: datetime | None, options: dict, claim: str | None
) -> Job | None:
    """The job, enqueued; None, with nothing written, when the owner's quota refused it."""
    ttl, job_id = options["result_ttl"], options["job_id"]
    connection = redis()
    # Recorded, then sent as one script behind the quota's gate (see jobs.core.transaction).
    with transaction.pipeline(connection) as pipe:
        gated = quotas.admit(pipe, owner, job_id)
        if start_at is None:
            job = queue(job_type.queue).enqueue_call(
                job_type.func, kwargs=values, timeout=job_type.timeout, pipeline=pipe, **options
            )
        else:
            job = queue(job_type.queue).enqueue_at(
                start_at, job_type.func, args=(), kwargs=values, job_timeout=job_type.timeout, pipeline=pipe, **options
            )
        submitted = time.time()
        pipe.zadd(keys.owner_key(owner), {job_id: submitted})
        pipe.expire(keys.owner_key(owner), ttl)
        uploads = {name: values.get(name) for name in job_type.uploads if values.get(name)}
        index.add(pipe, job_id, owner, job_type.name, values, uploads, submitted)
        if claim is not None:
            pipe.expire(claim, ttl)
        try:
            admitted = replication.execute(connection, pipe, gated=gated)
        except RedisError:
            _forget_uploads(job_type, values)
            raise
        except NotCopied:
            # Withdrawn, uploads and all: a job answered 503 must not run, nor be lost in a failover.
            purge.stop_and_purge(connection, job_id)
            raise
    return job if admitted else None


def _forget_uploads(job_type: JobType, values: dict) -> None:
    refs = [values[name] for name in job_type.uploads if isinstance(values.get(name), str)]
    # Best effort: a Redis that refused the submit may refuse this too, and the uploads expire anyway.
    if refs:
        try:
            redis().delete(*(keys.upload_key(ref) for ref in refs))
        except RedisError:
            pass


def fetch(job_id: str) -> Job | None:
    if not JOB_ID.match(job_id):
        return None
    try:
        return SpoolJob.fetch(job_id, connection=redis(), serializer=queue("default").serializer)
    except NoSuchJobError:
        return None


def get(job_id: str, owner: str) -> Job:
    """The owner's job, or 404: someone else's job is indistinguishable from none.

    A signed-in operator may see anyone's job.
    """
    job = fetch(job_id)
    if job is None or (Meta.of(job).owner != owner and not auth.is_operator()):
        abort(404, description="There is no such job, or it is not yours.")
    return job


def get_to_change(job_id: str, owner: str, action: str) -> Job:
    """The owner's job to stop or retry, as `get`; an operator's on someone else's job must be
    an admin's (403 for an observer), and is written to the audit log once it has been done."""
    job = get(job_id, owner)
    if Meta.of(job).owner != owner:
        auth.require_admin()

        @after_this_request
        def _audited(response):
            if response.status_code < 400:  # a 409 (already over) changed nothing
                audit.record(action, target=job.id, queue=job.origin)
            return response

    return job


def list_for(owner: str, *, page: int = 1, per_page: int = 20) -> tuple[list[Job], int]:
    """The owner's jobs, newest first, one page at a time."""
    return find(Filters(owner=owner), page=page, per_page=per_page)


def find(filters: Filters, *, page: int = 1, per_page: int = 20) -> tuple[list[Job], int]:
    """The jobs matching the filters, newest first, one page at a time, and how many match;
    ids whose job has expired are dropped from the indexes as they are met."""
    found = search.find(redis(), filters, offset=(min(page, LAST_PAGE) - 1) * per_page, count=per_page)
    jobs = SpoolJob.fetch_many(found.ids, connection=redis(), serializer=queue("default").serializer)
    gone = [job_id for job_id, job in zip(found.ids, jobs, strict=True) if job is None]
    if gone:
        index.remove(redis(), gone)
        if filters.owner:
            redis().zrem(keys.owner_key(filters.owner), *gone)
    return [j for j in jobs if j is not None], found.total - len(gone)


def cancel(job: Job) -> str:
    """Cancel a waiting job or stop a running one; return the status it is heading to."""
    now = status.of(job)
    if now in status.WAITING:
        try:
            job.cancel()
        except InvalidJobOperation:
            raise Conflict(f"The job is already {status.of(job)}.") from None
        events.publish_status(redis(), job.id, status.CANCELED)
        cancel_dependents(job)
        fanout.cancel_parts(redis(), job)
        webhooks.ended(redis(), job, status.CANCELED)
        return status.CANCELED
    if now == status.STARTED:
        redis().set(keys.stop_key(job.id), 1, ex=settings().result_ttl)
        send_stop_job_command(redis(), job.id, serializer=job.serializer)
        return status.STOPPING
    raise Conflict(f"The job is already {now}; there is nothing to cancel.")


def count(owner: str) -> int:
    """How many jobs the owner's index holds (some may have expired since)."""
    return redis().zcard(keys.owner_key(owner))


def give(old: str, new: str) -> tuple[int, int]:
    """Give `old`'s jobs to `new` (an anonymous browser's, to the user it turned out to be).

    A running job stays: its worker rewrites its meta with every progress report, and would
    give it back. Returns how many jobs moved and how many stayed for now.
    """
    source = keys.owner_key(old)
    entries = dict(redis().zrange(source, 0, -1, withscores=True))
    ids = [raw.decode() for raw in entries]
    moved = []
    for job in SpoolJob.fetch_many(ids, connection=redis(), serializer=queue("default").serializer):
        if job is None or Meta.of(job).owner != old or status.of(job, refresh=False) == status.STARTED:
            continue
        Meta.set_owner(job, new)
        moved.append(job.id.encode())
    with redis().pipeline() as pipe:
        if moved:
            pipe.zadd(keys.owner_key(new), {job_id: entries[job_id] for job_id in moved})
            pipe.expire(keys.owner_key(new), settings().result_ttl)
            pipe.zrem(source, *moved)
            index.reown(pipe, moved, old, new)
        pipe.execute()
    quotas.move(old, new)
    return len(moved), len(entries) - len(moved)


def job_type_of(job: Job) -> JobType | None:
    return catalogue.CATALOGUE.get(Meta.of(job).type or "")


def resubmit(old: Job, *, owner: str) -> Job:
    """Submit a new job of the same type with the same parameters as `old`."""
    job_type = job_type_of(old)
    if job_type is None:
        raise Conflict("This job's type no longer exists, so it cannot be run again.")
    if gone := expired_uploads(job_type, old.kwargs):
        raise Conflict(
            f"The file uploaded for {', '.join(gone)} has expired, so this job cannot be run again as it was: "
            "upload it again (on the job's page, “Change values and run…”)."
        )
    return submit(job_type, job_type.validate(old.kwargs), owner=owner)


def upload_names(job_type: JobType, params: dict) -> dict[str, str | None]:
    """Each upload field's file name as it was sent; None where none was given or it has expired."""
    return {name: files.upload_name(redis(), params.get(name)) for name in job_type.uploads}


def expired_uploads(job_type: JobType, params: dict, names: dict[str, str | None] | None = None) -> list[str]:
    """The titles of the upload fields whose file has expired since the job was submitted
    (`names`: what `upload_names` gave, if the caller has it already)."""
    names = upload_names(job_type, params) if names is None else names
    fields = job_type.schema.get("properties", {})
    return [
        f"“{fields.get(name, {}).get('title', name)}”"
        for name in job_type.uploads
        if params.get(name) and names.get(name) is None
    ]
