"""What the API and the form pages share about a submission: validating its values, its
uploaded files and its notify_email, and storing the files in Redis.

    values, email = submission.clean(job_type, params, request.files, notify_email)
    job = repository.submit(job_type, values, owner=owner_id(), notify_email=email)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import abort
from werkzeug.datastructures import FileStorage

from jobs.core import files
from jobs.core.catalogue import JobType
from jobs.core.exceptions import ParamsError
from webapp.exceptions import Unavailable
from webapp.resources import redis, settings

# ASCII only: a mail server that does not speak SMTPUTF8 refuses anything else (and the
# message would be retried six times for nothing), and a bidi control in an address would
# show the owner one address while mail goes to another.
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+"
)
# Stands in for a file while the other values are checked, so nothing is stored for a 422.
_PENDING = "0" * 32


def email_enabled() -> bool:
    return bool(settings().smtp_url)


def clean_email(value) -> str | None:
    """The address to notify, or None; raise ParamsError when it cannot be used."""
    if value is None or value == "":
        return None
    if not email_enabled():
        raise ParamsError({"notify_email": "Email is not configured on this server (SMTP_URL is not set)."})
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.fullmatch(value.strip()):
        raise ParamsError(
            {"notify_email": "must be an email address like name@example.com, in plain ASCII letters and digits"}
        )
    return value.strip()


def _size(upload: FileStorage) -> int:
    stream = upload.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def clean(job_type: JobType, params, uploaded, notify_email=None, reused=None) -> tuple[dict, str | None]:
    """Validate a submission and store its files; return the job's values and the email.

    `uploaded` maps each upload parameter's name to its file part; `reused` maps an upload
    parameter sent with no file to the stored upload of an earlier job of the same owner's, which
    the new job reads again. Raises ParamsError
    (a 422 naming the fields), Unavailable, or aborts 413 for a file over the limit.
    """
    if job_type.unavailable:
        raise Unavailable(job_type.unavailable)
    if not isinstance(params, dict):
        raise ParamsError({"params": "must be a JSON object of parameter names to values"})
    values = dict(params)
    limit_mb = settings().max_upload_mb
    given = {name: uploaded.get(name) for name in job_type.uploads}
    given = {name: f for name, f in given.items() if f is not None and f.filename}
    wrong = {
        name: "send the file as a multipart part named after the parameter"
        for name in job_type.uploads
        if name in values
    }
    if wrong:
        raise ParamsError(wrong)
    for name, upload in given.items():
        if _size(upload) > files.max_bytes(limit_mb):
            abort(413, description=f"The file for {name} is larger than the {limit_mb} MB limit.")
        values[name] = _PENDING
    kept = {n: ref for n, ref in (reused or {}).items() if n in job_type.uploads and n not in given}
    gone = {n: "the file from the previous run has expired: choose it again" for n, ref in kept.items() if not ref}
    if gone:
        raise ParamsError(gone)
    values.update(kept)
    email = clean_email(notify_email)
    try:
        clean_values = job_type.validate(values)
    except ParamsError as exc:
        raise ParamsError(
            {
                n: "choose a file to upload" if n in job_type.uploads and n not in given else m
                for n, m in exc.fields.items()
            }
        ) from None
    ttl = settings().result_ttl + 24 * 3600  # a queued job may wait a while before it runs
    for ref in kept.values():  # the new job may outlive the one that first read the file
        files.keep_upload(redis(), ref, ttl)
    for name, upload in given.items():
        data = upload.read()
        clean_values[name] = files.save_upload(redis(), upload.filename, upload.mimetype, data, ttl, limit_mb)
    return clean_values, email


# How far ahead a job may be scheduled.
MAX_DELAY = timedelta(days=30)


def clean_start(run_at=None, run_in=None) -> datetime | None:
    """When a job should start: `run_at` (ISO 8601; UTC when it names no zone) or `run_in`
    (seconds from now); None for now. Raise ParamsError naming the field that is wrong.
    """
    if run_at in (None, "") and run_in in (None, ""):
        return None
    if run_at not in (None, "") and run_in not in (None, ""):
        raise ParamsError({"run_at": "give run_at or run_in, not both"})
    now = datetime.now(UTC)
    if run_in not in (None, ""):
        try:
            seconds = float(run_in)
        except (TypeError, ValueError):
            raise ParamsError({"run_in": "must be a number of seconds"}) from None
        if not 0 < seconds <= MAX_DELAY.total_seconds():
            raise ParamsError({"run_in": f"must be more than 0 and at most {int(MAX_DELAY.total_seconds())} seconds"})
        return now + timedelta(seconds=seconds)
    try:
        start = datetime.fromisoformat(run_at) if isinstance(run_at, str) else None
    except ValueError:
        start = None
    if start is None:
        raise ParamsError({"run_at": "must be a date and time like 2030-01-31T09:30:00Z"})
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if start <= now:
        raise ParamsError({"run_at": "must be in the future"})
    if start - now > MAX_DELAY:
        raise ParamsError({"run_at": f"must be within {MAX_DELAY.days} days"})
    return start.astimezone(UTC)
