"""The status vocabulary: RQ's `JobStatus` names, grouped, and the words a person reads.

    status.of(job)                 # "queued", "started", ... read afresh from Redis
    status.TERMINAL                # statuses a job never leaves
    status.label("deferred")       # "Waiting for another job"

Everything that tests a status (web, worker, metrics, templates) uses these sets.
"""

from __future__ import annotations

from rq.job import Job, JobStatus

QUEUED = JobStatus.QUEUED.value
SCHEDULED = JobStatus.SCHEDULED.value
DEFERRED = JobStatus.DEFERRED.value
STARTED = JobStatus.STARTED.value
FINISHED = JobStatus.FINISHED.value
FAILED = JobStatus.FAILED.value
STOPPED = JobStatus.STOPPED.value
CANCELED = JobStatus.CANCELED.value

# In the order a job passes through them; every status RQ may give a Spool job.
ALL = (QUEUED, SCHEDULED, DEFERRED, STARTED, FINISHED, FAILED, STOPPED, CANCELED)
WAITING = frozenset({QUEUED, SCHEDULED, DEFERRED})
ACTIVE = WAITING | {STARTED}
TERMINAL = frozenset({FINISHED, FAILED, STOPPED, CANCELED})
# Ended without finishing: jobs that depend on one of these never run.
ENDED_BADLY = frozenset({FAILED, STOPPED, CANCELED})
# What a cancel answers while a running job is being stopped (not a status RQ stores).
STOPPING = "stopping"

LABELS = {
    QUEUED: "Waiting",
    SCHEDULED: "Scheduled",
    DEFERRED: "Waiting for another job",
    STARTED: "Running",
    FINISHED: "Done",
    FAILED: "Failed",
    STOPPED: "Stopped",
    CANCELED: "Canceled",
}


def label(status: str) -> str:
    return LABELS.get(status, status.capitalize())


def of(job: Job, refresh: bool = True) -> str:
    """The job's status as a plain string (RQ returns its enum)."""
    value = job.get_status(refresh=refresh)
    return getattr(value, "value", value)
