"""Searching jobs from a request: the query's filters checked, and the rows that tell jobs apart.

    filters = search.filters_from(request.args, operator=False)   # raises BadFilters (a 400)
    jobs, total = repository.find(replace(filters, owner=owner_id()), page=1, per_page=20)
    rows = search.rows(jobs)

The same query arguments serve My jobs, GET /api/jobs, /ops/jobs and GET /api/ops/jobs:
status, type, owner (operators), since and until (ISO 8601 submit times), q (words).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq.job import Job

from jobs.core import catalogue, keys, status
from jobs.core.search import Filters
from webapp import snapshots
from webapp.resources import redis

MAX_Q = 200
MAX_OWNER = 200
ARGS = ("status", "type", "owner", "since", "until", "q")
# How many of a job's parameters a row shows, and how long each value may be there.
SHOWN_PARAMS = 3
SHOWN_VALUE = 40


class BadFilters(Exception):
    """A query argument that cannot be searched by; `fields` says what to fix in each."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def _when(name: str, text: str, problems: dict) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+") if "T" in text else text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # "until" a date means to the end of that day, as a person reading "until 31 January" does.
        if name == "until" and "T" not in text and len(text) <= 10:
            moment += timedelta(days=1) - timedelta(microseconds=1)
        return moment.timestamp()
    except (ValueError, OverflowError):
        problems[name] = "must be an ISO 8601 date or time, like 2030-01-31 or 2030-01-31T09:30:00Z"
        return None


def filters_from(args, *, operator: bool) -> Filters:
    """The filters a query asks for; raise BadFilters naming each argument that is wrong."""
    given = {name: (args.get(name) or "").strip() for name in ARGS}
    problems: dict[str, str] = {}
    if given["status"] and given["status"] not in status.ALL:
        problems["status"] = f"must be one of {', '.join(status.ALL)}"
    types = catalogue.CATALOGUE if operator else catalogue.public()
    if given["type"] and given["type"] not in types:
        problems["type"] = "must be a job type's name (GET /api/job-types lists them)"
    if given["owner"] and not operator:
        problems["owner"] = "only operators search by owner"
    elif len(given["owner"]) > MAX_OWNER:
        problems["owner"] = f"must be at most {MAX_OWNER} characters"
    if len(given["q"]) > MAX_Q:
        problems["q"] = f"must be at most {MAX_Q} characters"
    since, until = _when("since", given["since"], problems), _when("until", given["until"], problems)
    if problems:
        raise BadFilters(problems)
    return Filters(
        status=given["status"], type=given["type"], owner=given["owner"], since=since, until=until, q=given["q"]
    )


def _shown(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


def key_params(job: Job) -> list[dict]:
    """The parameters that tell this job apart: those not left at their default, first."""
    job_type = catalogue.by_func_name(job.func_name)
    try:
        values = dict(job.kwargs)
    except Exception:  # unreadable parameters: the row shows none
        return []
    if job_type is None:
        return []
    defaults = {n: p.get("default") for n, p in job_type.schema["properties"].items()}
    names = [n for n in values if n not in job_type.uploads]
    names.sort(key=lambda n: values[n] == defaults.get(n))
    return [{"name": n, "value": _shown(values[n])} for n in names[:SHOWN_PARAMS]]


def _duration(job: Job) -> float | None:
    if job.started_at is None:
        return None
    end = job.ended_at or datetime.now(UTC)
    started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return max(round((end - started).total_seconds(), 1), 0.0)


def rows(jobs: list[Job]) -> list[dict]:
    """Each job's summary with its key parameters, uploaded file names and run time so far."""
    names = keys.upload_names(redis(), [j.id for j in jobs])
    return [
        {
            **snapshots.summary(job),
            "params": key_params(job),
            "files": files,
            "duration_s": _duration(job),
        }
        for job, files in zip(jobs, names, strict=True)
    ]
