"""Deleting a job for good: stopped first if it runs, then everything it owns, in one place.

    purge.stop_and_purge(connection, job_id)   # the dashboard's Delete and Empty

A job owns RQ's hash and results (deleted by RQ's `Job.delete`), and Spool's keys named after
it (its log, result files and their index, stop flag, mail markers: `keys.job_keys`), the
uploads its parameters name, its entries in its owner's index and waiting set and in the
search indexes, its place in its queue's fair order and in any concurrency limit, and the parts
it fanned out (each purged the same way, after all were stopped at once). Housekeeping sweeps what a
job left behind when it vanished some other way (see jobs.core.housekeeping).
"""

from __future__ import annotations

import time

from redis import Redis
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.results import Result
from rq.serializers import JSONSerializer

from jobs.core import catalogue, fanout, index, keys, limits, parts, status
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta

# How long a Delete waits for the worker to record a stop before deleting regardless.
STOP_WAIT = 10.0


def _fetch(connection: Redis, job_id: str) -> SpoolJob | None:
    try:
        return SpoolJob.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def purge(connection: Redis, job: SpoolJob) -> None:
    """Delete the job and everything it owns (a running job should be stopped first)."""
    meta = Meta.of(job)
    job_type = catalogue.by_func_name(job.func_name)
    try:
        kwargs = job.kwargs if job_type else {}
    except Exception:  # unreadable parameters name no upload we could find
        kwargs = {}
    uploads = [keys.upload_key(kwargs[n]) for n in (job_type.uploads if job_type else ()) if kwargs.get(n)]
    fair_place = connection.hget(keys.job_key(job.id), keys.FAIR_FIELD)
    with connection.pipeline() as pipe:
        job.delete(pipeline=pipe, remove_from_queue=True, delete_dependents=False)
        pipe.delete(*keys.job_keys(job.id), *uploads)
        if meta.owner:
            pipe.zrem(keys.owner_key(meta.owner), job.id)
            pipe.zrem(keys.waiting_key(meta.owner), job.id)
        if fair_place:
            pipe.zrem(keys.fair_keys(job.origin)[0], fair_place)
        for limit, _ in limits.limits_of(job):
            pipe.srem(keys.slots_key(limit), job.id)
            pipe.lrem(keys.held_key(limit), 0, job.id)
        index.remove(pipe, [job.id])
        pipe.execute()
    Result.delete_all(job)


def stop_and_purge(connection: Redis, job_id: str) -> bool:
    """Stop the job if it runs, then purge it; False if there was no such job."""
    job = _fetch(connection, job_id)
    if job is None:
        return False
    plan = Meta.of(job).fan_out
    if plan:
        fanout.cancel_parts(connection, job)
        for part_id in parts.part_ids(job_id, plan["parts"]):
            stop_and_purge(connection, part_id)
    if status.of(job) == status.STARTED:
        try:
            send_stop_job_command(connection, job_id, serializer=JSONSerializer)
        except InvalidJobOperation:
            pass  # it ended meanwhile
        # The worker writes the stopped job back (its status, the failed registry); deleting
        # before that would leave RQ to re-create the hash, ownerless. A dead worker never
        # writes: after STOP_WAIT the job is deleted all the same.
        deadline = time.monotonic() + STOP_WAIT
        while (job := _fetch(connection, job_id)) and status.of(job) == status.STARTED:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if job is None:
            return True
    purge(connection, job)
    return True
