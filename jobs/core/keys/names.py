"""The names of every Redis key Spool writes (see the package's docstring).

Each builder takes what the key is about (a job id, an owner, a queue name) and escapes what a
caller chose, so no owner or address reaches a key or a SCAN pattern unescaped.
"""

from __future__ import annotations

import functools
import hashlib
from urllib.parse import quote, unquote

from rq.job import Job

PREFIX = "spool:"
CHANNEL_PREFIX = PREFIX + "events:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"
# A job's event counter, kept in RQ's job hash so that it expires with the job.
SEQ_FIELD = "spool_seq"
TOKENS_BY_HASH = PREFIX + "tokens:by-hash"
TOKENS_BY_NAME = PREFIX + "tokens:by-name"
OWNER_PREFIX = PREFIX + "owner:"
# The operators' audit log: a stream whose ids are the times of their actions.
AUDIT = PREFIX + "audit"

__all__ = [
    "AUDIT",
    "CHANNEL_PATTERN",
    "CHANNEL_PREFIX",
    "DURATIONS",
    "FAIR_FIELD",
    "LIMITS",
    "MAIL_OUTCOMES",
    "MAIL_STATES",
    "OWNER_PREFIX",
    "PER_JOB_PREFIXES",
    "PREFIX",
    "SEQ_FIELD",
    "TOKENS_BY_HASH",
    "TOKENS_BY_NAME",
    "TOTALS",
    "WEB_PROCESSES",
    "channel",
    "confirmation_sent_key",
    "confirmed_emails_key",
    "escape",
    "fair_keys",
    "files_index_key",
    "files_key",
    "held_key",
    "idempotency_key",
    "bulk_done_key",
    "job_id_in",
    "job_key",
    "job_keys",
    "log_key",
    "mail_key",
    "mail_rate_key",
    "new_owners_key",
    "operator_failures_key",
    "operator_session_key",
    "output_key",
    "output_rows_key",
    "owner_key",
    "owner_of_key",
    "parts_progress_key",
    "run_time_key",
    "slots_key",
    "socket_field",
    "stop_key",
    "upload_key",
    "waiting_key",
    "web_process_key",
    "webhook_key",
    "WEBHOOK_OUTCOMES",
]


def job_key(job_id: str) -> str:
    """RQ's hash of one job."""
    return Job.key_for(job_id)


def channel(job_id: str) -> str:
    return CHANNEL_PREFIX + job_id


def log_key(job_id: str) -> str:
    return f"{PREFIX}log:{job_id}"


def output_key(job_id: str) -> str:
    """What a running job emitted (jobs.core.output): a hash of its columns, text, named values
    (`v:<name>`) and whether it was cut."""
    return f"{PREFIX}output:{job_id}"


def output_rows_key(job_id: str) -> str:
    """The table rows a job emitted, in order: a list of JSON arrays."""
    return f"{PREFIX}output:{job_id}:rows"


def parts_progress_key(job_id: str) -> str:
    """How far each part of a fanned-out job is (`f:<index>`), and the job's rolled-up progress
    (`state`), see jobs.core.fanout."""
    return f"{PREFIX}parts:{job_id}"


def stop_key(job_id: str) -> str:
    """Marks a running job that its owner asked to stop, in case its worker is gone and cannot."""
    return f"{PREFIX}stop:{job_id}"


def files_key(job_id: str) -> str:
    return f"{PREFIX}files:{job_id}"


def files_index_key(job_id: str) -> str:
    return f"{PREFIX}files:{job_id}:index"


def upload_key(ref: str) -> str:
    return f"{PREFIX}upload:{ref}"


def mail_key(job_id: str, outcome: str, state: str) -> str:
    """Marks that a job's email for an outcome was queued or sent, so it goes out once."""
    return f"{PREFIX}mail:{job_id}:{outcome}:{state}"


MAIL_OUTCOMES = ("finished", "failed", "stopped")
MAIL_STATES = ("queued", "sent")


def webhook_key(job_id: str, outcome: str, state: str) -> str:
    """Marks that a job's webhook for an outcome was queued or delivered, so it goes out once."""
    return f"{PREFIX}webhook:{job_id}:{outcome}:{state}"


WEBHOOK_OUTCOMES = ("finished", "failed", "stopped", "canceled")


def mail_rate_key(kind: str, who: str) -> str:
    """Emails sent this hour to one recipient, or for one owner (kind "to" or "owner")."""
    return f"{PREFIX}mail-rate:{kind}:{escape(who)}"


def confirmed_emails_key(owner: str) -> str:
    """The addresses an owner confirmed by the emailed link (a set), where job emails may go."""
    return f"{PREFIX}confirmed-emails:{escape(owner)}"


def confirmation_sent_key(owner: str, address: str) -> str:
    """Marks that a confirmation link went to an address for an owner today, so it goes once a day."""
    return f"{PREFIX}confirmation-sent:{escape(owner)}:{escape(address)}"


def job_keys(job_id: str) -> list[str]:
    """Every key of Spool's own that belongs to one job (RQ's hash and results are RQ's)."""
    mail = [mail_key(job_id, o, s) for o in MAIL_OUTCOMES for s in MAIL_STATES]
    mail += [webhook_key(job_id, o, s) for o in WEBHOOK_OUTCOMES for s in MAIL_STATES]
    return [
        log_key(job_id),
        output_key(job_id),
        output_rows_key(job_id),
        parts_progress_key(job_id),
        files_key(job_id),
        files_index_key(job_id),
        stop_key(job_id),
        bulk_done_key(job_id),
        *mail,
    ]


def bulk_done_key(job_id: str) -> str:
    """The jobs a bulk action already handled, so a rerun after a lost worker skips them."""
    return f"{PREFIX}bulk:{job_id}:done"


# Owners and type names repeat on every submit and status change; quoting is a few µs each time.
@functools.lru_cache(maxsize=4096)
def escape(value: str) -> str:
    """A caller-chosen string made safe inside a key and a SCAN pattern.

    Everything but letters, digits, '_.-~' and ':' is percent-encoded, so no glob character,
    space or control character reaches a key; ':' is kept, as owners are `token:<name>` or
    `user:<name>` and their indexes keep the names they had before escaping.
    """
    return quote(value, safe=":")


def owner_key(owner: str) -> str:
    """The owner's index: job ids scored by submit time, expiring as their jobs do."""
    return OWNER_PREFIX + escape(owner)


def owner_of_key(key: bytes | str) -> str:
    """The owner an index key belongs to (the inverse of `owner_key`)."""
    text = key.decode() if isinstance(key, bytes) else key
    return unquote(text.removeprefix(OWNER_PREFIX))


def idempotency_key(owner: str, key: str) -> str:
    return f"{PREFIX}idempotency:{escape(owner)}:{hashlib.sha256(key.encode()).hexdigest()}"


def operator_failures_key(door: str, address: str) -> str:
    """Wrong operator passwords one address sent to one door (the sign-in page, or /metrics)."""
    return f"{PREFIX}operator-failures:{door}:{escape(address)}"


def operator_session_key(session_id: str) -> str:
    """One operator sign-in: the fingerprint of the password it was made with, expiring with it."""
    return f"{PREFIX}operator-session:{session_id}"


# Fair turns within a queue (see jobs.core.fair): the job's place in the order is kept in its hash.
FAIR_FIELD = "spool_fair"
# Every concurrency limit that has parked jobs, with how many may run (see jobs.core.limits).
LIMITS = PREFIX + "limits"


def fair_keys(queue_name: str) -> tuple[str, str, str, str]:
    """A queue's fair order (a sorted set), each owner's last round, the current round, a counter."""
    base = f"{PREFIX}fair:{escape(queue_name)}"
    return f"{base}:order", f"{base}:last", f"{base}:round", f"{base}:seq"


def slots_key(limit: str) -> str:
    """The running jobs that hold a slot of one concurrency limit (see jobs.core.limits)."""
    return f"{PREFIX}slots:{escape(limit)}"


def held_key(limit: str) -> str:
    """The jobs waiting, in order, for a slot of one concurrency limit."""
    return f"{PREFIX}held:{escape(limit)}"


def run_time_key(queue_name: str) -> str:
    """How long a queue's recent jobs ran: a moving average, for the expected wait."""
    return f"{PREFIX}runtime:{escape(queue_name)}"


def waiting_key(owner: str) -> str:
    """The owner's jobs that may still be waiting (queued, scheduled, deferred), scored by submit
    time: what MAX_WAITING_PER_OWNER counts, pruned of jobs that have started or ended."""
    return f"{PREFIX}waiting:{escape(owner)}"


def new_owners_key(address: str) -> str:
    """How many anonymous owners a client address was given in the current hour."""
    return f"{PREFIX}new-owners:{escape(address)}"


# Cluster-wide counters that only ever rise, for /metrics (jobs.core.measures): a hash of
# totals, and one of finished jobs' run times by type and duration bucket.
TOTALS = PREFIX + "metrics:totals"
DURATIONS = PREFIX + "metrics:durations"


# The web processes alive, scored by their last heartbeat (a sorted set), and each one's own
# hash of the sockets it holds: "open", "owner:<owner>", "address:<address>" -> how many.
WEB_PROCESSES = PREFIX + "web-processes"


def web_process_key(process_id: str) -> str:
    return f"{PREFIX}web:{process_id}"


def socket_field(kind: str, value: str) -> str:
    """The field of a web process's hash counting the sockets of one owner or one address."""
    return f"{kind}:{escape(value)}"


# Keys that hold one job's things, by the prefix that comes before the job id; housekeeping
# deletes those whose job is gone.
PER_JOB_PREFIXES = (
    log_key(""),
    output_key(""),
    parts_progress_key(""),
    files_key(""),
    stop_key(""),
    f"{PREFIX}mail:",
    f"{PREFIX}webhook:",
)


def job_id_in(key: bytes | str, prefix: str) -> str:
    """The job id in one of the PER_JOB_PREFIXES keys (what follows it, up to any ':')."""
    text = key.decode() if isinstance(key, bytes) else key
    return text.removeprefix(prefix).split(":", 1)[0]
