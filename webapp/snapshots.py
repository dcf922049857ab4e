"""How a job is shown on the web: the snapshot (see jobs.core.snapshots), as the caller may
see it, and the summary that lists show.

    snapshots.snapshot(job)      # everything known now
    snapshots.summary(job)       # the short form, for lists
"""

from __future__ import annotations

from rq.job import Job

from jobs.core import snapshots as shown
from jobs.core import status
from jobs.core.keys import Meta
from jobs.core.snapshots import iso
from webapp import auth
from webapp.repository import job_type_of


def snapshot(job: Job) -> dict:
    """Everything known about a job now: for pages, the API and the first socket message."""
    return shown.snapshot(job, operator=auth.is_operator())


def summary(job: Job) -> dict:
    """The short form of a job for lists."""
    job_type = job_type_of(job)
    meta = Meta.of(job)
    return {
        "id": job.id,
        "type": meta.type,
        "title": job_type.title if job_type else job.description,
        "status": status.of(job, refresh=False),
        "progress": meta.progress,
        "created_at": iso(job.created_at),
        "ended_at": iso(job.ended_at),
        "parent": meta.parent,
        "urls": {"self": f"/api/jobs/{job.id}", "page": f"/jobs/{job.id}"},
    }
