"""How Spool runs RQ jobs: a Job class that runs only catalogued functions, and a Worker
that announces every status change and loses no job.

    Queue("default", connection=redis, job_class=SpoolJob, serializer=JSONSerializer)
    SpoolWorker(queues, connection=redis, job_class=SpoolJob, serializer=JSONSerializer).work()

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
canceled (RQ would leave them deferred forever) and the status of each is published.
Jobs run at least once: a job whose worker vanished mid-way runs again from the start.
"""

from __future__ import annotations

import ctypes
import os
import signal
from datetime import timedelta

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException
from rq.utils import now

from jobs import catalogue, events, jsonlog, reporter
from jobs.settings import settings

PR_SET_PDEATHSIG = 1


class NotInCatalogue(PermissionError):
    """A job names a function that is not a catalogued job type; it is refused unrun."""


class SpoolJob(Job):
    """An RQ job that refuses to import anything outside the catalogue."""

    @property
    def func(self):
        if catalogue.by_func_name(self.func_name) is None:
            raise NotInCatalogue(f"{self.func_name!r} is not a job type in the catalogue; refused to run it")
        return super().func

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

    def _execute(self):
        reporter.start(self)
        try:
            return super()._execute()
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


def status_of(job: Job) -> str:
    status = job.get_status(refresh=True)
    return getattr(status, "value", status)


def cancel_dependents(job: Job) -> list[str]:
    """Cancel, all the way down, the deferred jobs that wait on a job which will never finish.

    Dependents that allow their dependency to fail are left to RQ, which enqueues them.
    """
    canceled: list[str] = []
    parents = [job]
    while parents:
        parent = parents.pop()
        parent_status = status_of(parent)
        for dependent in Job.fetch_many(parent.dependent_ids, connection=job.connection, serializer=job.serializer):
            if dependent is None or status_of(dependent) != "deferred":
                continue
            if parent_status == "failed" and dependent.allow_dependency_failures:
                continue
            dependent.cancel()
            events.publish_status(job.connection, dependent.id, "canceled")
            canceled.append(dependent.id)
            parents.append(dependent)
    return canceled


class SpoolQueue(Queue):
    """RQ's queue, with a maintenance lock that a dead worker holds for seconds, not minutes."""

    # RQ holds it 899 s: a worker SIGKILLed while cleaning would stop every worker from
    # noticing abandoned jobs for fifteen minutes. Cleaning takes milliseconds.
    MAINTENANCE_LOCK_TTL = 30

    def acquire_maintenance_lock(self) -> bool:
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True, ex=self.MAINTENANCE_LOCK_TTL))

    def enqueue_call(self, *args, **kwargs) -> Job:
        """Enqueue as RQ does, but never leave a job waiting on one that has already ended badly.

        RQ defers a job whose dependency is not finished, even one already failed or stopped,
        and nothing would ever wake it; `cancel_dependents` covers those that end later.
        """
        job = super().enqueue_call(*args, **kwargs)
        if kwargs.get("pipeline") is None and job.get_status(refresh=False) == JobStatus.DEFERRED:
            for dependency in job.fetch_dependencies():
                status = status_of(dependency)
                if status in ("stopped", "canceled") or (status == "failed" and not job.allow_dependency_failures):
                    try:
                        job.cancel()
                    except InvalidJobOperation:  # the dependency's own handler got there first
                        break
                    events.publish_status(self.connection, job.id, "canceled")
                    break
        return job


def queue(name: str, connection) -> Queue:
    return SpoolQueue(name, connection=connection, job_class=SpoolJob, serializer=JSONSerializer)


def _die_with(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux); elsewhere do nothing."""
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    if prctl is None or prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        return
    if os.getppid() != parent_pid:  # the parent died before the kernel was told
        os._exit(1)


class SpoolWorker(Worker):
    """RQ's forking worker, publishing each status change of the jobs it runs, with heartbeats
    tuned so that a dead worker's job is noticed in seconds, and a bounded warm shutdown."""

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

    def _announce(self, job: Job, status: str | None = None) -> str | None:
        """Publish the job's status: `status` when the caller knows it, else read it back."""
        try:
            status = status or status_of(job)
            events.publish_status(self.connection, job.id, status)
            jsonlog.transition(job, status)
            if status in ("failed", "stopped"):
                cancel_dependents(job)
            return status
        except Exception:
            self.log.exception("could not publish the status of job %s", job.id)
            return None

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
        lapsed = []
        for q in self.queues:
            try:
                lapsed += q.started_job_registry.get_expired_job_ids()
            except RedisError:
                pass
        # Asked to stop while its worker was dead: RQ is not to retry it, and it ends "stopped".
        stopping = [job_id for job_id in lapsed if self.connection.exists(events.stop_key(job_id))]
        for job_id in stopping:
            self.connection.hset(events.job_key(job_id), "retries_left", 0)
        super().clean_registries()
        for job in self.job_class.fetch_many(lapsed, connection=self.connection, serializer=self.serializer):
            if job is None:
                continue
            if job.id in stopping and status_of(job) == "failed":
                job.set_status(JobStatus.STOPPED)
            if status_of(job) != "started":
                self._announce(job)

    def prepare_job_execution(self, job, *args, **kwargs):
        super().prepare_job_execution(job, *args, **kwargs)
        self._announce(job, "started")  # known: no round trip to read it back on every job

    def handle_job_success(self, job, queue, started_job_registry):
        super().handle_job_success(job, queue, started_job_registry)
        self._announce(job, "finished")

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=""):
        if self._interruption and not self.is_horse:
            exc_string, self._interruption = f"WorkerShutdown: {self._interruption}", None
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        self._announce(job)

    def handle_job_retry(self, job, queue, retry, started_job_registry, execution):
        super().handle_job_retry(job, queue, retry, started_job_registry, execution)
        self._announce(job)
