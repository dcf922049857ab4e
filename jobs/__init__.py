"""Spool's job authors' API and catalogue.

from jobs import job, progress, log

@job(title="Count primes", timeout="10m")
def count_primes(limit: int = 1_000_000) -> dict:
    \"\"\"Count the primes below a limit.\"\"\"
    progress(done, total, "sieving")
    log("found 78498 primes")
    return {"count": 78498}
"""

from jobs.catalogue import callback, job
from jobs.params import Upload
from jobs.reporter import log, progress

__all__ = ["callback", "job", "log", "progress", "Upload"]
