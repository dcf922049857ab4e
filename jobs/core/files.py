"""Files that travel through Redis: uploads a job reads, and result files a job attaches.

Web and workers share no disk, so both kinds live in Redis, capped in size and expiring
with the job. In a job:

    @job(title="Count lines")
    def count_lines(data: Upload) -> dict:
        upload = open_upload(data)          # .name, .content_type, .data, .text()
        attach("lines.csv", csv_bytes, "text/csv")
        return {"lines": upload.text().count("\\n")}

A fanned-out job's merge reads what its parts attached (too big for their results), then drops it:

    vectors = part_files("vectors.npy")  # one per part, in the parts' order
    drop_part_files()

The web stores uploads with `save_upload` at submit, and reads attached files with
`listing` and `read` for the job page and the download link.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass

from redis import Redis
from rq import get_current_job

from jobs.core import keys, parts
from jobs.core.config import settings
from jobs.core.connection import connect
from jobs.core.exceptions import FileTooLarge
from jobs.core.keys import Meta

# A result file's name: a plain file name, so it is safe in a URL and a download header.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
UPLOAD_REF = re.compile(r"^[0-9a-f]{32}$")


def max_bytes(max_upload_mb: int | None = None) -> int:
    return (max_upload_mb or settings.max_upload_mb) * 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    name: str
    content_type: str
    data: bytes

    def text(self) -> str:
        """The content decoded as UTF-8 (a byte-order mark dropped, bad bytes replaced)."""
        return self.data.decode("utf-8-sig", errors="replace")


def _connection() -> Redis:
    job = get_current_job()
    return job.connection if job is not None else connect()


def save_upload(
    connection: Redis, name: str, content_type: str, data: bytes, ttl: int, max_upload_mb: int | None = None
) -> str:
    """Store an uploaded file for `ttl` seconds; return the reference a job receives."""
    if len(data) > max_bytes(max_upload_mb):
        raise FileTooLarge(f"{name} is larger than {max_upload_mb or settings.max_upload_mb} MB")
    ref = uuid.uuid4().hex
    key = keys.upload_key(ref)
    with connection.pipeline() as pipe:
        pipe.hset(key, mapping={"name": name[:200], "content_type": content_type or "", "data": data})
        pipe.expire(key, ttl)
        pipe.execute()
    return ref


def open_upload(ref: str) -> StoredUpload:
    """Read an upload parameter's file; raise FileNotFoundError once it has expired."""
    if not isinstance(ref, str) or not UPLOAD_REF.match(ref):
        raise FileNotFoundError(f"{ref!r} is not an uploaded file")
    name, content_type, data = _connection().hmget(keys.upload_key(ref), "name", "content_type", "data")
    if data is None:
        raise FileNotFoundError("The uploaded file has expired or was never stored.")
    return StoredUpload(name.decode(), content_type.decode(), data)


def upload_name(connection: Redis, ref) -> str | None:
    """The file name an upload was sent with, or None once it has expired."""
    if not isinstance(ref, str) or not UPLOAD_REF.match(ref):
        return None
    name = connection.hget(keys.upload_key(ref), "name")
    return None if name is None else name.decode()


def keep_upload(connection: Redis, ref: str, ttl: int) -> None:
    """Keep a stored upload for `ttl` seconds from now, for another job that reads it."""
    if UPLOAD_REF.match(ref or ""):
        connection.expire(keys.upload_key(ref), ttl)


def attach(name: str, data: bytes | str, content_type: str = "application/octet-stream") -> None:
    """Attach a result file to the current job, offered for download on its page."""
    job = get_current_job()
    if job is None:
        return  # a plain function call: there is no job page to attach to
    if not NAME.match(name) or ".." in name:
        raise ValueError(f"{name!r} is not a plain file name (letters, digits, '.', '_', '-')")
    if isinstance(data, str):
        data = data.encode()
    if len(data) > max_bytes():
        raise FileTooLarge(f"{name} is larger than {settings.max_upload_mb} MB")
    ttl = kept_for(job)
    meta = json.dumps({"content_type": content_type, "size": len(data)})
    with job.connection.pipeline() as pipe:
        pipe.hset(keys.files_key(job.id), name, data)
        pipe.hset(keys.files_index_key(job.id), name, meta)
        pipe.expire(keys.files_key(job.id), ttl)
        pipe.expire(keys.files_index_key(job.id), ttl)
        pipe.execute()


def _part_ids(job) -> list[str]:
    plan = Meta.of(job).fan_out if job is not None else None
    return parts.part_ids(job.id, plan["parts"]) if plan else []


def part_files(name: str) -> list[bytes | None]:
    """The file `name` each part of the current job attached, in the parts' order (None for a part
    that attached none): how a merge reads what is too big for a part's result."""
    job = get_current_job()
    found = _part_ids(job)
    if not found:
        return []
    with job.connection.pipeline(transaction=False) as pipe:
        for part_id in found:
            pipe.hget(keys.files_key(part_id), name)
        return pipe.execute()


def drop_part_files(connection: Redis | None = None, job=None) -> None:
    """Delete the files the parts of a job (the current one unless given) attached, once its merge
    has read them or no merge will run: kept as long as the job's result, they would only take room."""
    job = job or get_current_job()
    found = _part_ids(job)
    if found:
        (connection or job.connection).delete(
            *(k for part_id in found for k in (keys.files_key(part_id), keys.files_index_key(part_id)))
        )


def kept_for(job) -> int:
    """How long a running job's own things (files, output) are kept from now: its result is kept
    result_ttl after the job ends, which is at most its timeout from now."""
    return (job.result_ttl if job.result_ttl and job.result_ttl > 0 else settings.result_ttl) + (job.timeout or 0)


# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...) and the
# like), whatever the file's author meant.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # shown as typed, never evaluated
    return value


def csv_text(columns: list[str], rows: list[list]) -> str:
    """A CSV file of a header and rows, safe to open in a spreadsheet: no cell is a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_cell(c) for c in columns])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def listing(connection: Redis, job_id: str) -> list[dict]:
    """The files attached to a job, by name: [{name, content_type, size}]."""
    index = connection.hgetall(keys.files_index_key(job_id))
    return [{"name": name.decode(), **json.loads(meta)} for name, meta in sorted(index.items())]


def read(connection: Redis, job_id: str, name: str) -> tuple[bytes, str] | None:
    """An attached file's bytes and content type, or None when there is no such file."""
    if not NAME.match(name):
        return None
    data, meta = connection.hget(keys.files_key(job_id), name), connection.hget(keys.files_index_key(job_id), name)
    if data is None or meta is None:
        return None
    return data, json.loads(meta)["content_type"]
