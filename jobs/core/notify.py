"""Email when a job ends: RQ callbacks enqueue one `send_job_email` job per job and outcome.

    queue.enqueue_call(func, ..., meta={"notify_email": "ana@example.com"}, **notify.callbacks())

Sending is a job of its own with retries and backoff, so a mail server that refuses for a
while delays the email instead of losing it. Keys in Redis make it one email per job and
outcome, however often a callback or the sending job runs again. An email goes only to an
address its owner confirmed (jobs.core.confirmations); `send_confirmation_email` sends the link
that confirms one, through the same path and limits.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from rq import Callback, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.serializers import JSONSerializer

from jobs.core import catalogue, confirmations, keys
from jobs.core.catalogue import callback, job
from jobs.core.config import settings
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta
from jobs.core.queue import queue

QUEUE = "default"
RETRY = Retry(max=6, interval=[2, 10, 60, 300, 900, 3600])
SMTP_TIMEOUT = 30
SUBJECTS = {
    "finished": "is done",
    "failed": "failed",
    "stopped": "was stopped",
}


def callbacks() -> dict:
    """The enqueue arguments that make a job email its owner when it ends."""
    return {"on_success": Callback(on_success), "on_failure": Callback(on_failure), "on_stopped": Callback(on_stopped)}


def _enqueue(ended, connection, outcome: str) -> None:
    if not Meta.of(ended).notify_email:
        return
    # SET NX: a callback that runs again (a restarted worker) does not enqueue a second email.
    if not connection.set(keys.mail_key(ended.id, outcome, "queued"), "1", nx=True, ex=settings.result_ttl):
        return
    queue(QUEUE, connection).enqueue_call(
        send_job_email,
        kwargs={"job_id": ended.id, "outcome": outcome},
        retry=RETRY,
        timeout=SMTP_TIMEOUT * 3,
        result_ttl=24 * 3600,
        failure_ttl=settings.result_ttl,
        description=f"email: job {ended.id} {outcome}",
        meta=Meta(traceparent=Meta.of(ended).traceparent).as_dict(),  # the email joins the job's trace
    )


@callback
def on_success(ended, connection, result) -> None:
    _enqueue(ended, connection, "finished")


@callback
def on_failure(ended, connection, exc_type, exc_value, traceback) -> None:
    if ended.should_retry:
        return  # RQ runs it again; only the last attempt's outcome is worth an email
    _enqueue(ended, connection, "failed")


@callback
def on_stopped(ended, connection) -> None:
    _enqueue(ended, connection, "stopped")


def compose(ended, outcome: str) -> EmailMessage:
    """The email for a job's outcome: its type's title, how it ended and a link, and nothing
    the submitter chose (no parameters, file names or error sentences from their data), so
    Spool's mail cannot carry someone's words to someone else's inbox."""
    meta = Meta.of(ended)
    job_type = catalogue.CATALOGUE.get(meta.type or "")
    title = job_type.title if job_type else "Your job"
    link = f"{settings.base_url}/jobs/{ended.id}"
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = meta.notify_email
    message["Subject"] = f"Spool: {title} {SUBJECTS[outcome]}"
    lines = [f"Your job “{title}” {SUBJECTS[outcome]}."]
    if outcome == "failed":
        lines.append("Its page says why.")
    lines += ["", f"See it here: {link}", "", "You asked to be told by email when it ended."]
    message.set_content("\n".join(lines))
    return message


def _over_hourly_limit(connection, owner: str, address: str) -> str | None:
    """Count this email against its owner's and its recipient's hour; say which is spent, if one is."""
    limit = settings.mail_per_hour
    if limit <= 0:
        return None
    with connection.pipeline() as pipe:
        for kind, who in (("owner", owner), ("to", address.lower())):
            pipe.set(keys.mail_rate_key(kind, who), 0, ex=3600, nx=True)  # the hour starts at the first
            pipe.incr(keys.mail_rate_key(kind, who))
        _, by_owner, _, to_address = pipe.execute()
    if by_owner > limit:
        return f"its owner has had {limit} emails this hour"
    if to_address > limit:
        return f"{address} has had {limit} emails this hour"
    return None


def deliver(message: EmailMessage, url: str | None = None) -> None:
    """Send one message through an smtp:// (STARTTLS when offered) or smtps:// URL, with login."""
    parts = urlsplit(url or settings.smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        server = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=SMTP_TIMEOUT, context=context)
    else:
        server = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=SMTP_TIMEOUT)
    with server:
        server.ehlo()
        if parts.scheme == "smtp" and server.has_extn("starttls"):
            server.starttls(context=context)
            server.ehlo()
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        server.send_message(message)


@job(title="Send a job's email", internal=True, queue=QUEUE, timeout=SMTP_TIMEOUT * 3, retry=RETRY)
def send_job_email(job_id: str, outcome: str) -> dict:
    """Email the person who ran a job how it ended, once."""
    connection = get_current_job().connection
    sent = keys.mail_key(job_id, outcome, "sent")
    if connection.exists(sent):
        return {"sent": False, "reason": "already sent"}
    try:
        ended = SpoolJob.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return {"sent": False, "reason": "the job has expired"}
    meta = Meta.of(ended)
    if not meta.notify_email:
        return {"sent": False, "reason": "the job has no address to notify"}
    if not confirmations.is_confirmed(connection, meta.owner or "", meta.notify_email):
        return {"sent": False, "reason": "the address is not confirmed yet"}
    answer = _send(connection, meta.owner or "", compose(ended, outcome))
    if answer["sent"]:
        connection.set(sent, "1", ex=settings.result_ttl)
    return answer


@job(title="Send an address's confirmation link", internal=True, queue=QUEUE, timeout=SMTP_TIMEOUT * 3, retry=RETRY)
def send_confirmation_email(owner: str, address: str, link: str) -> dict:
    """Email an address the link that confirms it for its owner's job emails."""
    return _send(get_current_job().connection, owner, confirmations.compose(address, link))


def _send(connection, owner: str, message: EmailMessage) -> dict:
    """Deliver within the hourly limits; what happened, for the sending job's result."""
    over = _over_hourly_limit(connection, owner, message["To"])
    if over:
        return {"sent": False, "reason": over}
    try:
        deliver(message)
    except smtplib.SMTPRecipientsRefused as exc:
        # A permanent refusal of the address: retrying cannot help, and the job page still tells.
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            return {"sent": False, "reason": f"the mail server refused {message['To']}"}
        raise
    return {"sent": True, "to": message["To"]}
