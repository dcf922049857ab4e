"""What a job looks like from outside: the snapshot that the web's pages, API and sockets
show, and that a webhook sends when the job ends. This is the one reader of the meta that the
worker's reporter writes.

    snapshots.snapshot(job)                  # everything known now, as its owner sees it
    snapshots.snapshot(job, operator=True)   # with a failure's whole traceback
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import replace
from datetime import UTC, datetime

from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from jobs.core import catalogue, files, keys, parts, status
from jobs.core.catalogue import JobType
from jobs.core.keys import Meta
from jobs.core.queue import queue


def iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def explain(exc_string: str | None, state: str) -> dict | None:
    """Turn what RQ recorded about a failure into words for the person who ran the job."""
    if state == status.STOPPED:
        return {"message": "The job was stopped on request.", "detail": None}
    if state == status.CANCELED:
        return {"message": "The job was canceled before it ran.", "detail": None}
    if state != status.FAILED:
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
    return bool(ids) and any(s in status.ENDED_BADLY for s in keys.statuses(job.connection, ids))


def _attempts(job: Job, job_type: JobType | None, state: str) -> dict:
    """Which attempt this is (or, while waiting to be retried, will be) out of how many at most.

    RQ counts retries after an exception (or a lost worker) down in `retries_left`, and
    retries that a job asked for by returning `Retry` up in `number_of_retries`.
    """
    policy = job_type.retry if job_type else None
    used = job.number_of_retries or 0
    if policy is not None and job.retries_left is not None:
        used += max(0, policy.max - job.retries_left)
    retry_at = _scheduled_for(job) if state == status.SCHEDULED and used else None
    return {"attempt": used + 1, "attempts": policy.max + 1 if policy else 1, "retry_at": retry_at}


def _scheduled_for(job: Job) -> str | None:
    """When a scheduled job (run later, or a retry's wait) will be enqueued."""
    try:
        return iso(queue(job.origin, job.connection).scheduled_job_registry.get_scheduled_time(job))
    except NoSuchJobError:
        return None


def _stalled_since(job: Job, state: str) -> str | None:
    """When the heartbeat of a running job's worker lapsed, if it has: the worker stopped
    responding, and the job waits for a worker to retry or fail it."""
    if state != status.STARTED:
        return None
    lapsed = keys.lapsed_heartbeats(job.connection, [job.origin], time.time()).get(job.id)
    return None if lapsed is None else iso(datetime.fromtimestamp(lapsed, UTC))


def snapshot(job: Job, *, operator: bool = False) -> dict:
    """Everything known about a job now; an operator's copy keeps a failure's traceback."""
    connection = job.connection
    # Read before the job: an event between the two is then applied again by a client (status and
    # progress replace, so no harm), never lost; the log and output agree with seq exactly.
    seq, log, output = keys.stream_state(connection, job.id)
    job.refresh()
    state = status.of(job, refresh=False)
    if state in status.TERMINAL:  # it ended after the first read: read what it had written by then
        seq, log, output = keys.stream_state(connection, job.id)
    meta = Meta.of(job)
    job_type = catalogue.CATALOGUE.get(meta.type or "")
    result = error = None
    if state == status.FINISHED:
        result = job.return_value()
    elif state in status.ENDED_BADLY:
        latest = job.latest_result() if state == status.FAILED else None
        error = explain(latest.exc_string if latest else None, state)
        if state == status.CANCELED and _dependency_ended(job):
            error["message"] = "The job was canceled because a job it waited for was stopped or failed."
        if error["detail"] and not operator:
            # A traceback names the server's files and code: owners get the exception's own line.
            error["detail"] = error["detail"].splitlines()[-1]
    base = f"/api/jobs/{job.id}"
    stalled_since = _stalled_since(job, state)
    job_parts = parts.summary(connection, job)
    if job_parts and state == status.DEFERRED and job_parts["progress"]:
        meta = replace(meta, progress=job_parts["progress"])  # the parts' bar while they run
    if job_parts and state == status.CANCELED:
        error["message"] = "The job was canceled; its parts were stopped."
    return {
        "id": job.id,
        "type": meta.type,
        "title": job_type.title if job_type else job.description,
        "status": state,
        "seq": seq,
        "params": job.kwargs,
        "progress": meta.progress,
        "log": log,
        "output": output,
        "result": result,
        "error": error,
        **_attempts(job, job_type, state),
        "created_at": iso(job.created_at),
        "enqueued_at": iso(job.enqueued_at),
        "started_at": iso(job.started_at),
        "ended_at": iso(job.ended_at),
        "scheduled_for": _scheduled_for(job) if state == status.SCHEDULED else None,
        **line_place(job, state),
        "waiting_for": meta.waiting_for if state == status.DEFERRED else None,
        "parts": None if job_parts is None else {k: v for k, v in job_parts.items() if k != "progress"},
        "parent": meta.parent,
        "stalled": stalled_since is not None,
        "stalled_since": stalled_since,
        "files": [{**f, "url": f"{base}/files/{f['name']}"} for f in files.listing(connection, job.id)],
        "urls": {"self": base, "page": f"/jobs/{job.id}", "ws": f"/ws/jobs/{job.id}"},
    }


def line_place(job: Job, state: str) -> dict:
    """Where a waiting job stands in its queue (1 = next) and about when it starts, in seconds.

    The wait is the jobs ahead, shared among the workers serving the queue, times the queue's
    recent run time; None while nothing is known to estimate it from. `workers` counts the
    workers serving the queue, so a page can say when none is there to start the job.
    """
    if state != status.QUEUED:
        return {"queue_position": None, "expected_start_s": None, "workers": None}
    q = queue(job.origin, job.connection)
    position = keys.queue_position(job.connection, q.key, job.id)
    run_time = keys.run_time(job.connection, q.name)
    workers = Worker.count(queue=q)
    expected = None
    if position is not None and run_time is not None and workers:
        expected = round(math.ceil((position - 1) / workers) * run_time, 1)
    return {"queue_position": position, "expected_start_s": expected, "workers": workers}
