"""Spool's RQ job class: it runs only catalogued functions and callbacks, and reports.

    SpoolJob.fetch(job_id, connection=redis, serializer=JSONSerializer)

A job's function is looked up in the catalogue by the name stored with the job, never
imported from a name found in Redis: whoever can write to Redis cannot make a worker run
`os.system`. While the job runs, its progress reporter is live (see jobs.core.reporter).
When a running job is stopped on request, its type's `on_stop(job, connection)` cleanup
runs in the worker; a cleanup that raises is logged and does not take the worker down.

It always uses the JSON serializer, whatever it is given: RQ's command line takes the job
class from RQ_JOB_CLASS but its serializer only from `-S`, and pickle would make the job
unreadable to Spool. A job that was saved pickled anyway (RQ's CLI without `.env`) is read
with `jobs.core.payloads`, which loads only plain values, and saved back as JSON.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue
from rq.job import Job, JobStatus, Retry
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException
from rq.utils import decode_redis_hash, now, utcformat

from jobs.core import catalogue, events, index, keys, measures, payloads, reporter, tracing
from jobs.core.exceptions import NotInCatalogue, WaitingForParts
from jobs.core.keys import Meta

log = logging.getLogger(__name__)


class AwaitParts(Retry):
    """What a job that fanned out hands its worker: it now waits for its parts (jobs.core.fanout)
    without holding the worker. RQ passes a returned `Retry` to the worker's retry handler,
    which for this one only lets the job go, leaving it deferred."""

    def __init__(self):
        super().__init__(max=1)


class SpoolJob(Job):
    """An RQ job that refuses to import anything outside the catalogue."""

    # A job made here and not saved yet is in no search index: its first status write has no
    # entry to move, and index.add, in the same transaction, puts it in its sets.
    _unsaved = False
    finish_published = False  # its "finished" event went out with its result (_handle_success)

    def __init__(self, id: str | None = None, connection=None, serializer=None):
        super().__init__(id, connection=connection, serializer=JSONSerializer)

    @classmethod
    def create(cls, *args, **kwargs):
        job = super().create(*args, **kwargs)
        job._unsaved = True
        return job

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self._unsaved = False

    def restore(self, raw_data):
        """RQ's restore, after re-encoding as JSON a meta or data that was pickled; the
        repair is saved back, so the job reads as it was before."""
        fields = decode_redis_hash(raw_data)
        try:
            fixed = payloads.repaired(fields)
        except payloads.UnsafePayload as exc:
            log.warning("Job %s: a field is neither JSON nor plain pickled values, left as is: %s", self.id, exc)
            fixed = {}
        result = super().restore({**fields, **fixed})
        if fixed:
            self.connection.hset(self.key, mapping=fixed)
            log.warning("Job %s: %s saved back as JSON (it had been pickled)", self.id, " and ".join(sorted(fixed)))
        return result

    @property
    def func(self):
        job_type = catalogue.by_func_name(self.func_name)
        if job_type is None:
            raise NotInCatalogue(f"{self.func_name!r} is not a job type in the catalogue; refused to run it")
        return job_type.func

    @property
    def success_callback(self):
        return self._allowed_callback(super().success_callback, self._success_callback_name)

    @property
    def failure_callback(self):
        return self._allowed_callback(super().failure_callback, self._failure_callback_name)

    @property
    def stopped_callback(self):
        return self.stopped_callback_given or self._on_stop

    @property
    def _on_stop(self):
        job_type = catalogue.by_func_name(self.func_name)
        return job_type.on_stop if job_type else None

    @property
    def stopped_callback_given(self):
        return self._allowed_callback(super().stopped_callback, self._stopped_callback_name)

    def execute_stopped_callback(self, death_penalty_class):
        """Run the job type's `on_stop` cleanup, then the stopped callback given at enqueue, if any.

        One that fails is logged and the other still runs: RQ would re-raise it out of the
        worker's loop, ending the worker and leaving this job "started".
        """
        for name in ("_on_stop", "stopped_callback_given"):
            try:
                func = getattr(self, name)
                if func is None:
                    continue
                with death_penalty_class(self.stopped_callback_timeout, JobTimeoutException, job_id=self.id):
                    func(self, self.connection)
            except Exception:
                self.log.exception("Job %s: a cleanup after the stop failed", self.id)

    @staticmethod
    def _allowed_callback(callback, name):
        if name and name not in catalogue.CALLBACKS:
            raise NotInCatalogue(f"callback {name!r} is not allowed; refused to run it")
        return callback

    def set_status(self, status, pipeline=None) -> None:
        """RQ's status write, except that a job its owner asked to stop ends "stopped", never
        "failed": RQ fails a job whose worker died, and a reader must not see it failed first.

        A job failed by RQ's cleanup of a dead worker's registry gets no end time from RQ; it
        is written with the status (its last heartbeat: it may have run on a little after it),
        so no reader sees a failed job that never ended.
        """
        if status == JobStatus.FAILED and self.connection.exists(keys.stop_key(self.id)):
            status = JobStatus.STOPPED
        if pipeline is None:  # the status, its end and its search index move together
            with self.connection.pipeline() as pipe:
                self.set_status(status, pipeline=pipe)
                pipe.execute()
            return
        if status in (JobStatus.FAILED, JobStatus.STOPPED) and self.ended_at is None:
            self.ended_at = self.last_heartbeat or now()
            pipeline.hset(self.key, "ended_at", utcformat(self.ended_at))
        super().set_status(status, pipeline=pipeline)
        if not self._unsaved:
            index.set_status(pipeline, self.id, getattr(status, "value", status), self._type_name())

    def prepare_for_execution(self, worker_name: str, pipeline) -> None:
        """RQ's, which writes the status "started" itself rather than through set_status; the
        status's event goes in the same transaction, so a job's start costs no round trip more."""
        super().prepare_for_execution(worker_name, pipeline)
        index.set_status(pipeline, self.id, JobStatus.STARTED.value, self._type_name())
        events.publish_status(self.connection, self.id, JobStatus.STARTED.value, pipeline=pipeline)

    def _handle_success(self, result_ttl, pipeline, **kwargs) -> None:
        """RQ's, with the status's event in the same transaction (RQ calls it unless the result
        is not to be kept), so a job's end costs no round trip more."""
        super()._handle_success(result_ttl, pipeline, **kwargs)
        self.finished_writes(pipeline)
        self.finish_published = True

    def finished_writes(self, pipeline) -> None:
        """Queue a finished job's event, with its run time counted for /metrics and folded into
        its queue's average (for the waiting jobs' estimates)."""
        seconds = (self.ended_at - self.started_at).total_seconds() if self.started_at and self.ended_at else None
        tally = measures.duration_tally(Meta.of(self).type or "unknown", seconds) if seconds is not None else None
        events.publish_status(self.connection, self.id, JobStatus.FINISHED.value, tally=tally, pipeline=pipeline)
        if seconds is not None:
            keys.record_run_time(pipeline, self.origin, seconds)

    def _type_name(self) -> str | None:
        type_name = Meta.of(self).type
        return type_name if isinstance(type_name, str) else None

    def _execute(self):
        meta = keys.Meta.of(self)
        with tracing.run(self, meta.type, meta.traceparent):
            running = reporter.start(self)
            try:
                result = super()._execute()
                running.finished()
                return result
            except WaitingForParts:
                return AwaitParts()
            finally:
                reporter.finish()

    def retry(self, queue: Queue, pipeline) -> None:
        """RQ's retry after an exception, with every write in the caller's transaction.

        RQ writes the status "scheduled" at once and the rest (one retry fewer, the time it
        runs) in the transaction: a reader in between saw a job waiting for its retry that
        was still on its first attempt, with no time to run.
        """
        interval = self.get_retry_interval()
        self.retries_left -= 1
        if interval:
            at = now() + timedelta(seconds=interval)
            queue.schedule_job(self, at, pipeline=pipeline)  # saves the status "scheduled" with the rest
            self.log.info("Job %s: scheduled for retry at %s, %s remaining", self.id, at, self.retries_left)
        else:
            queue._enqueue_job(self, pipeline=pipeline, at_front=self.enqueue_at_front_on_retry)
            self.log.info("Job %s: enqueued for retry, %s remaining", self.id, self.retries_left)
