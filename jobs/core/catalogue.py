"""The catalogue: every job type Spool can run, registered by name with `@job`.

    @job(title="Count primes", timeout="30m")
    def count_primes(limit: int = 1_000_000) -> dict:
        \"\"\"Count the primes below a limit.\"\"\"

The API enqueues only names found here, and workers run only functions found here.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel
from rq import Retry

from jobs.core import params as _params

# Every module that defines job types; workers import them all before forking.
# SPOOL_JOB_MODULES adds a deployment's own modules (comma-separated dotted names).
JOB_MODULES = (
    "jobs.core.housekeeping",
    "jobs.core.notify",
    "jobs.core.webhooks",
    "jobs.core.bulk",
    "jobs.builtin.primes",
    "jobs.builtin.links",
    "jobs.builtin.texts",
)


@dataclass(frozen=True)
class JobType:
    name: str
    title: str
    description: str
    func: Callable
    queue: str
    timeout: str | int
    retry: Retry | None
    model: type[BaseModel] = field(repr=False)
    # Internal job types (housekeeping) run on workers but are not offered to users.
    internal: bool = False
    # Says why the job type cannot run here (a missing library), or None when it can.
    requires: Callable[[], str | None] | None = field(default=None, repr=False)
    # Called as on_stop(job, connection) in the worker when a running job of this type is stopped.
    on_stop: Callable | None = field(default=None, repr=False)
    # Called once in a worker that serves this type's queue, before it forks any work horse
    # (to load a model every horse then inherits).
    preload: Callable[[], object] | None = field(default=None, repr=False)
    # How many jobs of this type may run at once over all workers (None: no limit), and, for a
    # limit per key, "owner" or a function of the parameters naming the key (see jobs.core.limits).
    concurrency: int | None = None
    concurrency_key: str | Callable[[dict], object] | None = field(default=None, repr=False)

    @property
    def unavailable(self) -> str | None:
        return self.requires() if self.requires else None

    @property
    def func_name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def schema(self) -> dict:
        return _params.json_schema(self.model)

    @cached_property
    def uploads(self) -> tuple[str, ...]:
        # Read on every submit; building the JSON Schema was a seventh of a submit's time.
        return tuple(n for n, p in self.schema["properties"].items() if p.get("format") == "binary")

    def validate(self, raw: Any) -> dict:
        return _params.validate(self.model, raw)

    def describe(self) -> dict:
        described = {"name": self.name, "title": self.title, "description": self.description, "params": self.schema}
        if self.unavailable:
            described["unavailable"] = self.unavailable
        return described


CATALOGUE: dict[str, JobType] = {}
_BY_FUNC_NAME: dict[str, JobType] = {}
# Dotted names of the functions RQ may call back (on success, failure or stop).
CALLBACKS: set[str] = set()


def callback(func: Callable) -> Callable:
    """Allow a top-level function to be used as an RQ callback."""
    CALLBACKS.add(f"{func.__module__}.{func.__qualname__}")
    return func


def job(
    title: str,
    *,
    name: str | None = None,
    queue: str = "default",
    timeout: str | int = "10m",
    retry: Retry | None = None,
    internal: bool = False,
    requires: Callable[[], str | None] | None = None,
    on_stop: Callable | None = None,
    preload: Callable[[], object] | None = None,
    concurrency: int | None = None,
    concurrency_key: str | Callable[[dict], object] | None = None,
):
    """Register a top-level function as a job type; the function itself is returned unchanged.

    `internal=True` keeps it off the public catalogue: only the clock and operators enqueue it.
    `requires` is called when the job type is offered; a string it returns says why it cannot run.
    `on_stop(job, connection)` cleans up after a running job that is stopped on request: it runs
    in the worker once the job's process has been killed (see jobs.core.job).
    `preload()` runs once in each worker serving `queue`, before it forks (a model to load).
    `concurrency=N` lets at most N jobs of this type run at once over all workers; with
    `concurrency_key` ("owner", or a function of the parameters) the limit is per key.
    """

    def register(func: Callable) -> Callable:
        doc = inspect.getdoc(func) or ""
        job_type = JobType(
            name=name or func.__name__,
            title=title,
            description=doc.split("\n\n")[0].replace("\n", " "),
            func=func,
            queue=queue,
            timeout=timeout,
            retry=retry,
            model=_params.params_model(func),
            internal=internal,
            requires=requires,
            on_stop=on_stop,
            preload=preload,
            concurrency=concurrency,
            concurrency_key=concurrency_key,
        )
        if job_type.name in CATALOGUE and CATALOGUE[job_type.name].func_name != job_type.func_name:
            raise ValueError(f"two job types are named {job_type.name!r}")
        CATALOGUE[job_type.name] = job_type
        _BY_FUNC_NAME[job_type.func_name] = job_type
        return func

    return register


def load() -> dict[str, JobType]:
    """Import every job module so that the catalogue is complete."""
    extra = [m.strip() for m in os.environ.get("SPOOL_JOB_MODULES", "").split(",") if m.strip()]
    for module in (*JOB_MODULES, *extra):
        importlib.import_module(module)
    return CATALOGUE


def public() -> dict[str, JobType]:
    """The job types users may see and submit."""
    return {name: jt for name, jt in CATALOGUE.items() if not jt.internal}


def by_func_name(func_name: str | None) -> JobType | None:
    return _BY_FUNC_NAME.get(func_name or "")


def preload(queues: list[str]) -> None:
    """Run, once each, the preload hooks of the job types served on `queues`."""
    for hook in dict.fromkeys(jt.preload for jt in CATALOGUE.values() if jt.preload and jt.queue in queues):
        hook()
