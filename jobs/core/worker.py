"""Spool's RQ worker: it announces every status change and loses no job.

    SpoolWorker([queue("default", redis)], connection=redis).work(with_scheduler=True)

What happens to a job when things go wrong, all through RQ's own machinery:

- It raises: RQ retries it per its type's `Retry` policy (see jobs.retry), then fails it.
- It runs past its type's timeout: RQ kills it; it fails "timed out after N seconds".
- It is stopped on request (`send_stop_job_command`): its process is killed, the status is
  "stopped", and its type's `on_stop(job, connection)` cleanup runs here, in the worker. A
  cleanup that raises is logged and does not take the worker down. A job asked to stop after
  its worker died is stopped, not retried, when the survivors notice.
- Its process dies (SIGKILL, out of memory): the worker notices at once and fails or retries it.
- Its whole worker dies: the job's heartbeat lapses `heartbeat_grace` seconds later and any
  surviving worker, busy or idle, fails or retries it as abandoned within `maintenance_interval`.
  The work horse dies with its worker, so a job is never run by an orphan while it is retried.
- The worker gets SIGTERM (a deploy): it lets the job run up to `shutdown_grace` seconds, then
  interrupts it (failed, or retried) and exits; a second SIGTERM interrupts at once. The horse
  ignores SIGTERM sent to every process in a container: the worker decides when it dies.
- Redis goes away: the worker keeps the job running and its heartbeats resume when Redis is back.

A job that ends stopped, failed or canceled takes the jobs that depend on it along: they are
canceled (RQ would leave them deferred forever) and the status of each is published. A job
that fanned out (jobs.core.fanout) leaves its worker while its parts run; when it ends badly
its parts are stopped, and a part that fails for good fails its job.
Jobs run at least once: a job whose worker vanished mid-way runs again from the start.
"""

from __future__ import annotations

import ctypes
import os
import signal
from datetime import datetime, timedelta

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import current_timestamp, now

from jobs.core import events, fair, fanout, index, jsonlog, keys, limits, parts, status, webhooks
from jobs.core import lapsed as lapsed_entries
from jobs.core.config import settings
from jobs.core.dependents import cancel_dependents
from jobs.core.job import AwaitParts, SpoolJob
from jobs.core.keys import Meta
from jobs.core.queue import SpoolQueue
from jobs.core.warm import WarmWorker

PR_SET_PDEATHSIG = 1


def _die_with(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux); elsewhere do nothing."""
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    if prctl is None or prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        return
    if os.getppid() != parent_pid:  # the parent died before the kernel was told
        os._exit(1)


class SpoolWorker(WarmWorker):
    """RQ's forking worker (each horse forked before its job: jobs.core.warm), publishing each
    status change of the jobs it runs, with heartbeats tuned so that a dead worker's job is
    noticed in seconds, and a bounded warm shutdown."""

    job_class = SpoolJob
    queue_class = SpoolQueue

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("job_class", SpoolJob)
        kwargs.setdefault("default_result_ttl", settings.result_ttl)
        kwargs.setdefault("worker_ttl", settings.worker_ttl)
        kwargs.setdefault("job_monitoring_interval", settings.job_monitoring_interval)
        kwargs.setdefault("maintenance_interval", settings.maintenance_interval)
        super().__init__(*args, **kwargs)
        self.heartbeat_grace = settings.heartbeat_grace
        self.shutdown_grace = settings.shutdown_grace
        # Why the worker itself killed the running job, when it did (shutdown), for its record.
        self._interruption: str | None = None

    @property
    def shutdown_requested(self) -> bool:
        return self._shutdown_requested_date is not None

    def _announce(self, job: Job, known: str | None = None, published: bool = False) -> str | None:
        """Publish the job's status: `known` when the caller knows it, else read it back; and
        act on it. `published` when its event has gone out already (see SpoolJob).

        A finished job's run time is counted for /metrics in the same round trip.
        """
        try:
            now_status = known or status.of(job)
            if not published:
                with self.connection.pipeline(transaction=False) as pipe:
                    if now_status == status.FINISHED:
                        job.finished_writes(pipe)
                    else:
                        events.publish_status(self.connection, job.id, now_status, pipeline=pipe)
                    pipe.execute()
            if Meta.of(job).parent:
                parts.publish_counts(self.connection, Meta.of(job).parent)
            jsonlog.transition(job, now_status)
            if now_status in (status.FAILED, status.STOPPED):
                cancel_dependents(job)
                fanout.ended(self.connection, job, now_status)
            if now_status != status.STARTED:
                limits.release(self.connection, job)
            webhooks.ended(self.connection, job, now_status)
            return now_status
        except Exception:
            self.log.exception("could not publish the status of job %s", job.id)
            return None

    def _record_end(self, job: Job, at: datetime | None = None) -> str | None:
        """Give a job that ended with its process (stopped, killed, abandoned) the end time RQ
        sets only from inside that process; return its status, None if Redis could not say.

        An abandoned job's end is its last heartbeat: it may have run on a little after it.
        """
        try:
            now_status = status.of(job)
            if now_status in (status.FAILED, status.STOPPED) and job.ended_at is None:
                job.ended_at = at or now()
                keys.mark_ended(self.connection, job.id, job.ended_at)
            return now_status
        except RedisError:
            self.log.exception("could not record the end of job %s", job.id)
            return None

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Take the next job, as RQ does, that its concurrency limits let run now.

        A job over a limit is parked (see jobs.core.limits) and the worker takes the next one,
        so a job waiting for a slot never occupies a worker.
        """
        while True:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            if result is None:
                return None
            job, queue = result
            if not limits.limits_of(job):
                return result  # its turn is noted while its horse starts it (see while_starting)
            fair.dequeued(self.connection, queue.name, job.id)  # before it can be parked and woken
            if limits.claim(self.connection, job):
                return result

    def while_starting(self, job: Job, queue) -> None:
        if not limits.limits_of(job):
            try:
                fair.dequeued(self.connection, queue.name, job.id)
            except RedisError:  # its horse has it: the job runs, and only the turns lag behind
                self.log.exception("could not note the turn of job %s", job.id)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        limits.wake_where_room(self.connection)

    def get_heartbeat_ttl(self, job: Job) -> int:
        # RQ allows a fixed 60 s past the next heartbeat; a small grace lets the survivors
        # notice a dead worker's job in seconds.
        return self.job_monitoring_interval + self.heartbeat_grace

    def maintain_heartbeats(self, job: Job) -> None:
        """Renew the running job's heartbeat, look for abandoned jobs, and bound a warm shutdown."""
        try:
            super().maintain_heartbeats(job)
            if self.should_run_maintenance_tasks:
                self.run_maintenance_tasks()
        except RedisConnectionError as exc:  # the job runs on; heartbeats resume with Redis
            self.log.warning("Worker %s: Redis unreachable while job %s runs: %s", self.name, job.id, exc)
        if self._stop_requested and self._interruption is None:
            waited = now() - self._shutdown_requested_date
            if waited > timedelta(seconds=self.shutdown_grace):
                self._interrupt(
                    f"The worker running this job was shut down (a deploy or restart) and the job "
                    f"did not finish within the {self.shutdown_grace} s it was given."
                )

    def _interrupt(self, reason: str) -> None:
        self.log.warning("Worker %s: interrupting the running job: %s", self.name, reason)
        self._interruption = reason
        self.kill_horse()

    def request_force_stop(self, signum, frame):
        """On a second SIGTERM, interrupt the running job and record it before exiting."""
        if not self.horse_pid:
            return super().request_force_stop(signum, frame)
        if now() - self._shutdown_requested_date < timedelta(seconds=1):
            return None  # the same signal, delivered twice (RQ's rule)
        self._interrupt("The worker running this job was shut down (a deploy or restart) before the job finished.")
        return None

    def setup_work_horse_signals(self):
        super().setup_work_horse_signals()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _die_with(self.pid)

    def clean_registries(self):
        """Fail or retry abandoned jobs (RQ), then publish what became of each."""
        lapsed, cutoff = [], current_timestamp()
        for q in self.queues:
            try:
                lapsed += lapsed_entries.clear_stale(self.connection, q.started_job_registry, cutoff)
            except RedisError:
                pass
        # Asked to stop while its worker was dead: RQ is not to retry it, and it ends "stopped".
        stopping = [job_id for job_id in lapsed if self.connection.exists(keys.stop_key(job_id))]
        for job_id in stopping:
            keys.forbid_retries(self.connection, job_id)
        super().clean_registries()
        for job in self.job_class.fetch_many(lapsed, connection=self.connection, serializer=self.serializer):
            if job is None:
                continue
            now_status = self._record_end(job, job.last_heartbeat)
            if now_status != status.STARTED:
                self._announce(job, now_status)

    def cleanup_execution(self, job, pipeline):
        # RQ 2.12 forgets the execution here, before the transaction that takes it out of the
        # started registry has run. When handle_job_success's transaction meets a WatchError (a
        # sibling part ended at the same moment and wrote to their parent) and runs again, the
        # second run no longer removes it, and the finished job was later taken for abandoned
        # and run again (fixed upstream in RQ 3). The horse keeps it: it exits after this job.
        execution = self.execution
        super().cleanup_execution(job, pipeline)
        if self.is_horse:
            self.execution = execution

    def prepare_job_execution(self, job, *args, **kwargs):
        super().prepare_job_execution(job, *args, **kwargs)
        self._announce(job, status.STARTED, published=True)

    def handle_job_success(self, job, queue, started_job_registry):
        super().handle_job_success(job, queue, started_job_registry)
        self._announce(job, status.FINISHED, published=job.finish_published)

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=""):
        if not self.is_horse and status.of(job) == status.DEFERRED:
            # Its horse died after the job fanned out (jobs.core.fanout), before it let the job
            # go: the job is waiting for its parts, not failed. Only this execution ends.
            with self.connection.pipeline() as pipe:
                self.cleanup_execution(job, pipeline=pipe)
                pipe.execute()
            return
        if self._interruption and not self.is_horse:
            exc_string, self._interruption = f"WorkerShutdown: {self._interruption}", None
        if not self.is_horse:
            # Its process is gone (stopped, killed): say when it ended before RQ says it is over,
            # so that no reader sees it stopped or failed without an end.
            job.ended_at = job.ended_at or now()
            try:
                keys.mark_ended(self.connection, job.id, job.ended_at)
            except RedisError:
                self.log.exception("could not record the end of job %s", job.id)
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        if exc_string.strip():
            try:  # findable by the words of its error sentence; a failure to index is no failure of the job's
                index.add_error(self.connection, job.id, exc_string.strip().splitlines()[-1])
            except RedisError:
                self.log.exception("could not index the error of job %s", job.id)
        self._announce(job, self._record_end(job))

    def handle_job_retry(self, job, queue, retry, started_job_registry, execution):
        if isinstance(retry, AwaitParts):
            # The job fanned out and is deferred on its parts already (in the transaction that
            # enqueued them, so a part that ends at once finds it waiting): only this
            # execution ends; RQ enqueues the job again when its last part ends.
            with self.connection.pipeline() as pipe:
                self.cleanup_execution(job, pipeline=pipe)
                pipe.execute()
        else:
            super().handle_job_retry(job, queue, retry, started_job_registry, execution)
        self._announce(job)
