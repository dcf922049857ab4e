"""Housekeeping that the clock runs (see jobs/schedule.py): forget what Redis has expired.

Job hashes expire on their own (RQ's result and failure TTLs); what points at them does not:
an owner's index keeps the ids of jobs long gone, any of Spool's keys named after a job (its
log, result files, stop flag, mail markers: `keys.PER_JOB_PREFIXES`) may outlive it (deleted
with RQ's own tools, say), and RQ's registries keep entries until cleaned. Uploads are left to
their own TTL (the job's result TTL): nothing names the job in them, and one job's upload may be
another's too (Run again reuses it). Safe to run at any time, any number of times.
"""

from __future__ import annotations

from rq import Queue, get_current_job

from jobs.core import index, keys
from jobs.core.catalogue import job
from jobs.core.connection import connect
from jobs.core.queue import queue

BATCH = 500


def _connection():
    current = get_current_job()
    return current.connection if current else connect()


def _missing(connection, job_ids: list[str]) -> list[str]:
    found = keys.existing(connection, job_ids)
    return [job_id for job_id, exists in zip(job_ids, found, strict=True) if not exists]


@job(title="Sweep expired records", timeout="30m", internal=True)
def sweep() -> dict:
    """Drop expired jobs from owner indexes, orphaned logs and files, and stale registry entries."""
    connection = _connection()
    forgotten = 0
    for key in connection.scan_iter(match=keys.OWNER_PREFIX + "*", count=BATCH):
        cursor = 0
        while True:
            cursor, members = connection.zscan(key, cursor, count=BATCH)
            gone = _missing(connection, [m.decode() for m, _ in members])
            if gone:
                forgotten += connection.zrem(key, *gone)
            if cursor == 0:
                break
    orphans = 0
    for prefix in keys.PER_JOB_PREFIXES:
        for key in connection.scan_iter(match=prefix + "*", count=BATCH):
            job_id = keys.job_id_in(key, prefix)
            if _missing(connection, [job_id]):
                orphans += connection.delete(key)
    forgotten += index.sweep(connection)
    queues = Queue.all(connection=connection)
    for name in {q.name for q in queues}:
        q = queue(name, connection)
        # Not the started registry: its lapsed entries are for the workers to judge, under their
        # maintenance lock, telling an abandoned job from an entry that outlived its run
        # (SpoolWorker.clean_registries); RQ's cleanup would retry or fail a finished job.
        for registry in (q.finished_job_registry, q.failed_job_registry, q.deferred_job_registry):
            registry.cleanup()
    return {"owner_entries_forgotten": forgotten, "orphaned_keys_deleted": orphans, "queues_cleaned": len(queues)}
