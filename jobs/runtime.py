"""How Spool runs RQ jobs: a Job class that runs only catalogued functions, and a Worker
that announces every status change and notices dead workers in seconds.

    Queue("default", connection=redis, job_class=SpoolJob, serializer=JSONSerializer)
    SpoolWorker(queues, connection=redis, job_class=SpoolJob, serializer=JSONSerializer).work()
"""

from __future__ import annotations

from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from jobs import catalogue, events, reporter
from jobs.settings import settings


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
        return self._allowed_callback(super().stopped_callback, self._stopped_callback_name)

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


def queue(name: str, connection) -> Queue:
    return Queue(name, connection=connection, job_class=SpoolJob, serializer=JSONSerializer)


class SpoolWorker(Worker):
    """RQ's forking worker, publishing each status change of the jobs it runs."""

    job_class = SpoolJob

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("job_class", SpoolJob)
        kwargs.setdefault("default_result_ttl", settings.result_ttl)
        super().__init__(*args, **kwargs)

    def _announce(self, job: Job) -> None:
        try:
            status = job.get_status(refresh=True)
            events.publish_status(self.connection, job.id, getattr(status, "value", status))
        except Exception:
            self.log.exception("could not publish the status of job %s", job.id)

    def prepare_job_execution(self, job, *args, **kwargs):
        super().prepare_job_execution(job, *args, **kwargs)
        self._announce(job)

    def handle_job_success(self, job, queue, started_job_registry):
        super().handle_job_success(job, queue, started_job_registry)
        self._announce(job)

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=""):
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        self._announce(job)

    def handle_job_retry(self, job, queue, retry, started_job_registry, execution):
        super().handle_job_retry(job, queue, retry, started_job_registry, execution)
        self._announce(job)
