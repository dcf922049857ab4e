"""Lapsed entries in RQ's started registries: which are abandoned jobs, and which only outlived
their run.

A running job's entry in its queue's started registry is renewed by its worker's heartbeat. RQ
takes an entry that lapsed for a job whose worker died, and retries or fails that job whatever
its status says. Not every lapsed entry is one:
- a job that fanned out just before its worker died is waiting for its parts (deferred);
- an entry may outlive a job that ended (RQ 2.12 left one whenever the transaction that records a
  success was retried: see SpoolWorker.cleanup_execution);
- a job may be running again under a new entry (a fan-out parent woken by its last part) while
  the entry of its earlier run lapses.
Such entries are only removed, before RQ's own cleanup sees them. Only lapsed entries are: an
entry renewed since is a run that started meanwhile.
"""

from __future__ import annotations

from rq.registry import StartedJobRegistry

from jobs.core import keys, status


def clear_stale(connection, registry: StartedJobRegistry, cutoff: float) -> list[str]:
    """Remove the entries of `registry` that lapsed by `cutoff` (a Unix time) but are no abandoned
    job; return the ids of the lapsed jobs that are abandoned, for RQ's cleanup to retry or fail."""
    entries = connection.zrange(registry.key, 0, -1, withscores=True)
    lapsed = [(member, registry.parse_job_id(member)) for member, score in entries if score <= cutoff]
    if not lapsed:
        return []
    live = {registry.parse_job_id(member) for member, score in entries if score > cutoff}
    job_ids = list(dict.fromkeys(job_id for _, job_id in lapsed))
    states = dict(zip(job_ids, keys.statuses(connection, job_ids), strict=True))
    stale = [
        member
        for member, job_id in lapsed
        if job_id in live or states[job_id] == status.DEFERRED or states[job_id] in status.TERMINAL
    ]
    if stale:
        connection.zrem(registry.key, *stale)
    cleared = {registry.parse_job_id(member) for member in stale}
    return [job_id for job_id in job_ids if job_id not in cleared]
