"""Jobs that wait on a job which ended badly are canceled, all the way down.

RQ leaves a dependent deferred forever when its dependency fails, is stopped or canceled;
Spool cancels it instead and publishes its new status, so its page says why it never ran.
"""

from __future__ import annotations

from rq.job import Job

from jobs.core import events, status, webhooks


def cancel_dependents(job: Job) -> list[str]:
    """Cancel, all the way down, the deferred jobs that wait on a job which will never finish.

    Dependents that allow their dependency to fail are left to RQ, which enqueues them.
    """
    canceled: list[str] = []
    parents = [job]
    while parents:
        parent = parents.pop()
        parent_status = status.of(parent)
        for dependent in Job.fetch_many(parent.dependent_ids, connection=job.connection, serializer=job.serializer):
            if dependent is None or status.of(dependent) != status.DEFERRED:
                continue
            if parent_status == status.FAILED and dependent.allow_dependency_failures:
                continue
            dependent.cancel()
            events.publish_status(job.connection, dependent.id, status.CANCELED)
            webhooks.ended(job.connection, dependent, status.CANCELED)
            canceled.append(dependent.id)
            parents.append(dependent)
    return canceled
