"""Periodic jobs through `rq cron`, enqueued the way the web enqueues: JSON, catalogue-checked.

    every(housekeeping.sweep, minutes=10)      # in the schedule file (jobs/schedule.py)

RQ's `CronJob.enqueue` builds a plain `Queue`, whose default serializer is pickle, which
Spool's workers neither can nor may read. So the clock builds `SpoolCronJob`s instead: the
same entries, enqueued through Spool's queue. Importing this module is what installs it
(RQ's cron module has no hook for a job class), before `rq cron` turns the entries that the
schedule file registers into cron jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis import Redis
from rq import cron
from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL
from rq.job import Job

from jobs.core import catalogue, keys
from jobs.core.config import settings
from jobs.core.queue import queue

# Who owns the clock's jobs, so operators can find them.
OWNER = "spool:clock"


class SpoolCronJob(cron.CronJob):
    """A cron entry that enqueues the way the web does: JSON payload, Spool's job class."""

    def enqueue(self, connection: Redis) -> Job:
        with connection.pipeline() as pipe:
            job = queue(self.queue_name, connection).enqueue(
                self.func, *self.args, **self.kwargs, **self.job_options, pipeline=pipe
            )
            pipe.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            pipe.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipe.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron.cron_job_registry.add(self.name, pipe, enqueue_timestamp=job.enqueued_at.timestamp())
            # Indexed like a user's jobs, so operators find the clock's jobs by owner.
            pipe.zadd(keys.owner_key(OWNER), {job.id: job.enqueued_at.timestamp()})
            pipe.expire(keys.owner_key(OWNER), settings.result_ttl)
            pipe.execute()
        # rq cron configures only its own logger, so the clock's output shows this line.
        logging.getLogger(cron.__name__).info("enqueued %s as job %s on %s", self.name, job.id, self.queue_name)
        return job


cron.CronJob = SpoolCronJob


def every(func: Callable, *, seconds: int = 0, minutes: int = 0, hours: int = 0, cron_string: str | None = None):
    """Run a catalogued job type every so often, or on a cron string (UTC)."""
    job_type = catalogue.by_func_name(f"{func.__module__}.{func.__qualname__}")
    if job_type is None:
        raise ValueError(f"{func.__qualname__} is not a catalogued job type; decorate it with @job")
    interval = seconds + 60 * minutes + 3600 * hours
    return cron.register(
        func,
        job_type.queue,
        interval=interval or None,
        cron=cron_string,
        job_timeout=job_type.timeout,
        result_ttl=settings.result_ttl,
        failure_ttl=settings.result_ttl,
        meta=keys.Meta(type=job_type.name, owner=OWNER).as_dict(),
        name=job_type.name,
    )
