"""Bulk actions: an operator stops, retries or deletes every job a search matches, as a Spool job
of its own, so it has a page with a progress bar, a log and a result, and outlives the web.

    webapp enqueues bulk_action(action="stop", state="queued", type_name="links", ...)

The matching ids are read when the job starts; each job handled is recorded (keys.bulk_done_key),
so a run that RQ retries after its worker was lost carries on where it stopped. Retry is RQ's
requeue (the same job, run again, as rq-dashboard's Requeue does), for jobs that ended badly.
"""

from __future__ import annotations

from typing import Literal

from rq import get_current_job
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation
from rq.registry import CanceledJobRegistry, FailedJobRegistry

from jobs.core import events, keys, purge, search, status
from jobs.core.catalogue import job
from jobs.core.config import settings
from jobs.core.dependents import cancel_dependents
from jobs.core.job import SpoolJob
from jobs.core.reporter import log, progress

BATCH = 50
OUTCOMES = ("stopped", "canceled", "retried", "deleted", "skipped")


def _stop(connection, target: SpoolJob) -> str:
    state = status.of(target, refresh=False)
    if state in status.WAITING:
        target.cancel()
        events.publish_status(connection, target.id, status.CANCELED)
        cancel_dependents(target)
        return "canceled"
    if state == status.STARTED:
        connection.set(keys.stop_key(target.id), 1, ex=settings.result_ttl)
        send_stop_job_command(connection, target.id, serializer=target.serializer)
        return "stopped"
    return "skipped"


def _retry(connection, target: SpoolJob) -> str:
    state = status.of(target, refresh=False)
    registry_class = CanceledJobRegistry if state == status.CANCELED else FailedJobRegistry
    if state not in status.ENDED_BADLY:
        return "skipped"
    registry_class(target.origin, connection=connection, serializer=target.serializer).requeue(target)
    events.publish_status(connection, target.id, status.QUEUED)
    return "retried"


def _delete(connection, target: SpoolJob) -> str:
    return "deleted" if purge.stop_and_purge(connection, target.id) else "skipped"


ACTIONS = {"stop": _stop, "retry": _retry, "delete": _delete}


@job(title="Bulk action", timeout="2h", internal=True)
def bulk_action(
    action: Literal["stop", "retry", "delete"],
    state: str = "",
    type_name: str = "",
    owner: str = "",
    since: float = 0,
    until: float = 0,
    q: str = "",
) -> dict:
    """Stop, retry or delete every job matching a search."""
    current = get_current_job()
    connection = current.connection
    filters = search.Filters(status=state, type=type_name, owner=owner, since=since or None, until=until or None, q=q)
    done_key = keys.bulk_done_key(current.id)
    ids = [i for i in search.find(connection, filters, count=-1).ids if i != current.id]
    counts = dict.fromkeys(OUTCOMES, 0)
    log(f"{len(ids)} jobs match; {action} each")
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        flags = connection.smismember(done_key, batch)
        todo = [job_id for job_id, seen in zip(batch, flags, strict=True) if not seen]
        for target in SpoolJob.fetch_many(todo, connection=connection, serializer=current.serializer):
            try:
                outcome = ACTIONS[action](connection, target) if target is not None else "skipped"
            except InvalidJobOperation:
                outcome = "skipped"  # it ended or moved on meanwhile
            counts[outcome] += 1
        if todo:
            with connection.pipeline() as pipe:
                pipe.sadd(done_key, *todo)
                pipe.expire(done_key, settings.result_ttl + 24 * 3600)
                pipe.execute()
        progress(min(start + BATCH, len(ids)), len(ids), f"{action}: {start + len(batch)} of {len(ids)}")
        log(", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to do yet")
    return {"action": action, "matched": len(ids), **counts}
