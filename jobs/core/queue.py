"""Spool's RQ queue: JSON payloads, Spool's job class, owners taking turns, and no job left
waiting forever.

queue("default", connection).enqueue_call(func, kwargs=..., meta=...)
live_workers("ml", connection)      # how many workers alive now listen on "ml"

Like SpoolJob, it uses the JSON serializer whatever it is given (RQ's CLI, given this class in
RQ_QUEUE_CLASS, would hand it pickle), and Spool's job class unless given a subclass of it.
"""

from __future__ import annotations

from datetime import datetime

from rq import Queue, worker_registration
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from jobs.core import events, fair, status, tracing
from jobs.core.job import SpoolJob


class SpoolQueue(Queue):
    """RQ's queue, with a maintenance lock that a dead worker holds for seconds, not minutes."""

    # RQ holds it 899 s: a worker SIGKILLed (or cut off the network) while cleaning would stop
    # every worker from noticing abandoned jobs for fifteen minutes. Cleaning takes milliseconds,
    # and a worker cleans every second or so: a worker host that fell off the network while
    # holding it delayed its own job's retry by the whole TTL, so it is kept short.
    MAINTENANCE_LOCK_TTL = 10

    def __init__(self, *args, job_class=None, serializer=None, **kwargs):
        if not (isinstance(job_class, type) and issubclass(job_class, SpoolJob)):
            job_class = SpoolJob
        super().__init__(*args, job_class=job_class, serializer=JSONSerializer, **kwargs)

    def acquire_maintenance_lock(self) -> bool:
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True, ex=self.MAINTENANCE_LOCK_TTL))

    def push_job_id(self, job_id: str, pipeline=None, at_front: bool = False) -> None:
        """Put the job at its owner's fair place in the list (see jobs.core.fair); a job pushed
        to the front, as RQ does for some retries, still goes first."""
        if at_front:
            return super().push_job_id(job_id, pipeline=pipeline, at_front=True)
        fair.push(pipeline if pipeline is not None else self.connection, self.key, self.name, job_id)

    def create_job(self, *args, meta: dict | None = None, **kwargs) -> Job:
        """RQ's job, carrying the current span's trace context (when tracing is on) unless it has one."""
        parent = None if (meta or {}).get("traceparent") else tracing.traceparent()
        return super().create_job(*args, meta={**(meta or {}), "traceparent": parent} if parent else meta, **kwargs)

    def schedule_job(self, job: Job, datetime: datetime, pipeline=None, unique: bool = False) -> Job:
        """RQ's, except that in a pipeline the job joins the scheduled registry in that pipeline too.

        RQ 2.12 adds it to the registry at once, outside the pipeline it was given: a transaction
        refused after all (over quota, Redis full) would leave a scheduled id with no job.
        """
        if pipeline is None or unique:
            return super().schedule_job(job, datetime, pipeline=pipeline, unique=unique)
        pipeline.sadd(self.redis_queues_keys, self.key)
        self._persist_job(job, pipeline, status=JobStatus.SCHEDULED)
        # A naive time is local time, as RQ takes it.
        pipeline.zadd(self.scheduled_job_registry.key, {job.id: int(datetime.timestamp())})
        return job

    def enqueue_call(self, *args, **kwargs) -> Job:
        """Enqueue as RQ does, but never leave a job waiting on one that has already ended badly.

        RQ defers a job whose dependency is not finished, even one already failed or stopped,
        and nothing would ever wake it; `cancel_dependents` covers those that end later.
        """
        job = super().enqueue_call(*args, **kwargs)
        if kwargs.get("pipeline") is None and job.get_status(refresh=False) == JobStatus.DEFERRED:
            for dependency in job.fetch_dependencies():
                ended = status.of(dependency)
                if ended in (status.STOPPED, status.CANCELED) or (
                    ended == status.FAILED and not job.allow_dependency_failures
                ):
                    try:
                        job.cancel()
                    except InvalidJobOperation:  # the dependency's own handler got there first
                        break
                    events.publish_status(self.connection, job.id, status.CANCELED)
                    break
        return job


def queue(name: str, connection) -> Queue:
    return SpoolQueue(name, connection=connection, job_class=SpoolJob, serializer=JSONSerializer)


def live_workers(name: str, connection) -> int:
    """How many workers alive now listen on a queue. RQ's registry of a queue's workers keeps one
    that died without unregistering (SIGKILL, a lost host) until some worker cleans it; its own
    key lapses `worker_ttl` seconds after its last heartbeat, so that key is what counts."""
    found = list(worker_registration.get_keys(queue=queue(name, connection)))
    if not found:
        return 0
    with connection.pipeline(transaction=False) as pipe:
        for key in found:
            pipe.exists(key)
        return sum(pipe.execute())
