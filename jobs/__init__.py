"""Spool's job authors' API: everything a job module may use, from this one import.

    from jobs import job, progress, log, emit, fan_out, attach, open_upload, csv_text, Upload, Backoff, settings

    @job(title="Count primes", timeout="10m", retry=Backoff(3))
    def count_primes(limit: int = 1_000_000) -> dict:
        \"\"\"Count the primes below a limit.\"\"\"
        progress(done, total, "sieving")
        emit(row=[done, found])       # the result's table, growing on the page as it runs
        log("found 78498 primes")
        return {"count": 78498}

    @job(title="Check links")
    def check_links(urls: list[str]) -> dict:
        return fan_out(check_chunk, chunks(urls), merge=merged)  # parts on many workers, one job

The framework behind it lives in `jobs.core` (internals: a job module never imports them);
Spool's own job types live in `jobs.builtin`, each written against this API alone.
"""

from jobs.core.addresses import resolve as resolve_url
from jobs.core.catalogue import callback, job
from jobs.core.config import settings
from jobs.core.exceptions import UnsafeUrl
from jobs.core.fanout import fan_out, fanned_out, workers_serving
from jobs.core.files import StoredUpload, attach, csv_text, drop_part_files, open_upload, part_files
from jobs.core.params import Upload
from jobs.core.reporter import emit, log, progress
from jobs.core.retry import Backoff

__all__ = [
    "Backoff",
    "StoredUpload",
    "UnsafeUrl",
    "Upload",
    "attach",
    "callback",
    "csv_text",
    "drop_part_files",
    "emit",
    "fan_out",
    "fanned_out",
    "job",
    "log",
    "open_upload",
    "part_files",
    "progress",
    "resolve_url",
    "settings",
    "workers_serving",
]
