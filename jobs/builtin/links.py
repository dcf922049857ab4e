"""Checking links: many slow HTTP requests at once, each bounded in time, size and redirects.

Every address is resolved first and refused when it is private, loopback, link-local or
otherwise not public (a cloud's metadata service among them), and the request then goes
to the address that was checked, so a name cannot resolve differently a moment later
(`resolve_url`, the guard the webhook sender shares). Every redirect is checked the same way. `SPOOL_ALLOW_PRIVATE_URLS` lifts the address
check for tests; the scheme check stays.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urljoin, urlsplit

import urllib3
from pydantic import Field

from jobs import Backoff, UnsafeUrl, attach, csv_text, emit, fan_out, job, log, progress, resolve_url, settings
from jobs.builtin.deadline import Deadline, pool_within
from jobs.builtin.exceptions import Permanent, Refused, Transient

MAX_BODY = 5 * 1024 * 1024
READ_CHUNK = 64 * 1024
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "Spool link checker"
# A check of more URLs than this is spread over the workers, CHUNK URLs a part.
FAN_OUT_OVER = 300
CHUNK = 100


@dataclass
class Outcome:
    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[str] = field(default_factory=list)
    seconds: float = 0.0
    size: int | None = None
    truncated: bool = False
    attempts: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400

    def row(self) -> list:
        # Why a link is broken comes right after it, where the eye lands first.
        if self.error or self.status is None or self.status < 400:
            error = self.error or ("body over the size cap, not read in full" if self.truncated else "")
        else:
            error = f"HTTP {self.status}"
        return [
            self.url,
            self.status,
            error,
            round(self.seconds * 1000),
            self.attempts,
            self.final_url,
            " → ".join(self.redirects),
            self.size,
        ]


COLUMNS = ["url", "status", "error", "time_ms", "attempts", "final_url", "redirects", "size_bytes"]


def resolve(url: str) -> tuple[str, str, int, str]:
    """Check a URL's scheme and address; return (scheme, host, port, ip) to connect to."""
    try:
        return resolve_url(url, allow_private=settings.allow_private_urls)
    except UnsafeUrl as exc:
        raise Refused(str(exc)) from None


def _fetch_once(url: str, timeout: float, max_redirects: int, outcome: Outcome) -> None:
    """Follow one URL's redirects to the end, filling `outcome`; raise Transient or Refused."""
    deadline = Deadline(timeout)
    try:
        _follow(url, timeout, max_redirects, outcome, deadline)
    finally:
        deadline.cancel()


def _follow(url: str, timeout: float, max_redirects: int, outcome: Outcome, deadline: Deadline) -> None:
    outcome.redirects = []
    current = url
    while True:
        scheme, host, port, ip = resolve(current)
        if deadline.remaining() <= 0:
            raise Transient(f"no answer within {timeout:g} s")
        parts = urlsplit(current)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = 443 if scheme == "https" else 80
        with pool_within(deadline, scheme, ip, port, host) as pool:
            try:
                response = pool.urlopen(
                    "GET",
                    path,
                    headers={"Host": host if port == default_port else f"{host}:{port}", "User-Agent": USER_AGENT},
                    redirect=False,
                    preload_content=False,
                    assert_same_host=False,
                )
            except urllib3.exceptions.SSLError as exc:
                raise Permanent(f"TLS failed: {exc}") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if _refused(exc):
                    raise Permanent("connection refused (nothing listens on that port)") from None
                raise Transient(_describe(exc, timeout, deadline)) from None
            try:
                outcome.status = response.status
                outcome.final_url = current
                location = response.headers.get("Location")
                if response.status in REDIRECTS and location:
                    if len(outcome.redirects) >= max_redirects:
                        outcome.error = f"more than {max_redirects} redirects"
                        return
                    outcome.redirects.append(current)
                    current = urljoin(current, location)
                    continue
                if response.status in TRANSIENT_STATUSES:
                    raise Transient(f"HTTP {response.status}")
                outcome.size, outcome.truncated = _read_capped(response, deadline, timeout)
                return
            finally:
                response.release_conn()


def _read_capped(response, deadline: Deadline, timeout: float) -> tuple[int, bool]:
    size = 0
    try:
        while chunk := response.read1(READ_CHUNK):
            size += len(chunk)
            if size > MAX_BODY:
                return size, True
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Transient(_describe(exc, timeout, deadline, "the body did not arrive")) from None
    if deadline.expired:  # the shut socket read as the end of a body sent without a length
        raise Transient(f"the body did not arrive within {timeout:g} s")
    return size, False


def _refused(exc: Exception) -> bool:
    """Whether a connection failed because nothing listens there (another try would fail too)."""
    cause = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(exc: Exception, timeout: float, deadline: Deadline, what: str = "no answer") -> str:
    if deadline.expired or isinstance(exc, urllib3.exceptions.TimeoutError) or "timed out" in str(exc):
        return f"{what} within {timeout:g} s"
    reason = str(getattr(exc, "reason", None) or exc)
    return f"connection failed: {reason.rpartition('>: ')[2]}"


def check_one(url: str, timeout: float, max_redirects: int, retries: int) -> Outcome:
    """Check one URL, retrying transient failures with exponential backoff."""
    outcome = Outcome(url=url)
    started = time.monotonic()
    for attempt in range(retries + 1):
        outcome.attempts = attempt + 1
        outcome.error = None
        try:
            _fetch_once(url, timeout, max_redirects, outcome)
            break
        except Permanent as exc:
            outcome.status, outcome.error = None, str(exc)
            break
        except Transient as exc:
            outcome.error = str(exc)
            if attempt < retries:
                time.sleep(min(0.5 * 2**attempt, 8))
    outcome.seconds = time.monotonic() - started
    return outcome


@job(title="Check links", timeout="30m")
def check_links(
    urls: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=settings.max_links,
            title="Links to check",
            description=f"One URL a line (http or https), up to {settings.max_links}.",
        ),
    ],
    concurrency: Annotated[
        int,
        Field(
            ge=1, le=32, title="Checks at once", description="How many links are checked at the same time (1 to 32)."
        ),
    ] = 8,
    timeout_s: Annotated[
        float,
        Field(gt=0, le=60, title="Time limit per link (seconds)", description="A link that takes longer is broken."),
    ] = 10.0,
    max_redirects: Annotated[
        int,
        Field(ge=0, le=10, title="Redirects to follow", description="A link that redirects more often is broken."),
    ] = 5,
    retries: Annotated[
        int,
        Field(
            ge=0,
            le=5,
            title="Retries",
            description="Further tries after a timeout, a dropped connection or an HTTP "
            + ", ".join(map(str, sorted(TRANSIENT_STATUSES)))
            + " (other errors, a 500 among them, are not retried).",
        ),
    ] = 2,
) -> dict:
    """Check that links answer: status, redirects, time and size of each."""
    unique = list(dict.fromkeys(u.strip() for u in urls if u.strip()))
    options = {"concurrency": concurrency, "timeout_s": timeout_s, "max_redirects": max_redirects, "retries": retries}
    if len(unique) > FAN_OUT_OVER:  # spread over the workers, a chunk a part
        chunks = [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]
        return fan_out(check_chunk, chunks, merge=merged, kwargs=options)
    return merged([check_chunk(unique, **options)])


@job(title="Check a chunk of links", internal=True, timeout="30m", retry=Backoff(2, first=2))
def check_chunk(urls: list[str], concurrency: int, timeout_s: float, max_redirects: int, retries: int) -> dict:
    """Check some links concurrently, emitting each row as it is checked; return the rows in order."""
    results: dict[str, Outcome] = {}
    progress(0, len(urls), "starting")
    emit(columns=COLUMNS)  # rows fill in as checks end; the result's table keeps the input's order
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="link") as pool:
        futures = {pool.submit(check_one, url, timeout_s, max_redirects, retries): url for url in urls}
        for future in as_completed(futures):
            outcome = future.result()
            results[outcome.url] = outcome
            emit(row=outcome.row())
            progress(len(results), len(urls), f"checked {len(results)} of {len(urls)}")
            if not outcome.ok:
                log(f"{outcome.url}: {outcome.error or outcome.status}")
    return {"rows": [results[url].row() for url in urls], "broken": sum(1 for o in results.values() if not o.ok)}


def merged(chunks: list[dict]) -> dict:
    """The whole check's result from its chunks' rows, in the input's order."""
    rows = [row for chunk in chunks for row in chunk["rows"]]
    attach("links.csv", csv_text(COLUMNS, rows), "text/csv")
    broken = sum(chunk["broken"] for chunk in chunks)
    return {
        "checked": len(rows),
        "ok": len(rows) - broken,
        "broken": broken,
        "table": {"columns": COLUMNS, "rows": rows},
    }
