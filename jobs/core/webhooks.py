"""Signed webhooks: when a job given a `webhook_url` ends, its final snapshot is POSTed there.

    url = webhooks.check(given, secret=..., production=True, allow_private=False)  # or UnsafeUrl
    webhooks.ended(connection, job, "finished")                         # when a job ends

The body is the job's snapshot, the JSON of `GET /api/jobs/<id>` as its owner sees it. Two
headers come with it: `Spool-Signature: t=<unix time>,v1=<hex>`, the HMAC-SHA256 of
`<t>.<body>` under WEBHOOK_SECRET, and `Spool-Delivery`, the same on every attempt for one
job's outcome, for a receiver to drop repeats by. Sending is a job of its own with RQ's
`Retry` and backoff, so a receiver that is down for a while gets it later, after a worker
restart too; keys in Redis make it one delivery per job and outcome, however often the end
is announced or the sending job runs again. Any answer but a 2xx is a failure, a redirect
among them: no redirect is followed, and every attempt resolves the name afresh and refuses a
private address, as link checks do (jobs.core.addresses).

RQ's own `Webhook` is not used: it posts once from inside the worker, unsigned, through urllib,
which follows redirects to any address and checks none; a failed send is only logged, never
retried; and it knows only "finished" and "failed", not a stopped or canceled job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

import urllib3
from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.serializers import JSONSerializer

from jobs.core import addresses, keys, snapshots, status
from jobs.core.catalogue import job
from jobs.core.config import settings
from jobs.core.exceptions import UnsafeUrl
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta
from jobs.core.queue import queue

QUEUE = "default"
RETRY = Retry(max=8, interval=[2, 10, 30, 120, 600, 1800, 3600, 3600])
TIMEOUT = 10
MAX_URL = 2000
SIGNATURE = "Spool-Signature"
DELIVERY = "Spool-Delivery"
USER_AGENT = "Spool webhook"


class WebhookRefused(Exception):
    """The receiver did not take a delivery (no answer, or not a 2xx); RQ tries again later."""


def check(url, *, secret: str, production: bool, allow_private: bool) -> str:
    """The webhook URL to keep, or raise UnsafeUrl saying what is wrong with it.

    Production takes only https (plain http lets anyone on the path read and replay the
    snapshot), unless private addresses are allowed, which only tests do.
    """
    if not secret:
        raise UnsafeUrl("webhooks are not configured on this server (WEBHOOK_SECRET is not set)")
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise UnsafeUrl(f"must be an https URL of at most {MAX_URL} characters")
    schemes = ("https",) if production and not allow_private else ("http", "https")
    addresses.resolve(url.strip(), allow_private=allow_private, schemes=schemes)
    return url.strip()


def delivery_id(job_id: str, outcome: str) -> str:
    """The id of one job's delivery for one outcome: the same on every attempt."""
    return hashlib.sha256(f"{job_id}:{outcome}".encode()).hexdigest()[:32]


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `Spool-Signature` header for a body sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def ended(connection, ended_job, outcome: str) -> None:
    """Queue the delivery of a job's end to its webhook URL, once per outcome."""
    meta = Meta.of(ended_job)
    if not meta.webhook_url or outcome not in status.TERMINAL:
        return
    queued = keys.webhook_key(ended_job.id, outcome, "queued")
    if connection.exists(queued):
        return
    # The mark and the sending job go in one transaction: a crash between them cannot lose
    # the delivery, nor leave a mark with nothing queued behind it.
    with connection.pipeline() as pipe:
        queue(QUEUE, connection).enqueue_call(
            send_webhook,
            kwargs={"job_id": ended_job.id, "outcome": outcome},
            retry=RETRY,
            timeout=TIMEOUT * 3,
            result_ttl=24 * 3600,
            failure_ttl=settings.result_ttl,
            description=f"webhook: job {ended_job.id} {outcome}",
            meta=Meta(traceparent=meta.traceparent).as_dict(),  # the delivery joins the job's trace
            pipeline=pipe,
        )
        pipe.set(queued, "1", ex=settings.result_ttl)  # after: RQ starts the transaction itself
        pipe.execute()


def post(url: str, body: bytes, headers: dict) -> int:
    """POST once to the checked address of `url`, following no redirect; return the status."""
    target = addresses.resolve(url, allow_private=settings.allow_private_urls)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if target.scheme == "https":
        tls = {"server_hostname": target.host, "assert_hostname": target.host}
        pool = urllib3.HTTPSConnectionPool(target.ip, target.port, maxsize=1, retries=False, **tls)
    else:
        pool = urllib3.HTTPConnectionPool(target.ip, target.port, maxsize=1, retries=False)
    with pool:
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host},
                redirect=False,
                assert_same_host=False,
                preload_content=False,  # the answer's body is not read: only its status counts
                timeout=urllib3.Timeout(connect=TIMEOUT, read=TIMEOUT),
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise WebhookRefused(f"{target.host} did not answer: {exc}") from None
        response.close()
    return response.status


@job(title="Send a job's webhook", internal=True, queue=QUEUE, timeout=TIMEOUT * 3, retry=RETRY)
def send_webhook(job_id: str, outcome: str) -> dict:
    """POST a job's final snapshot to its webhook URL, signed, once for this outcome."""
    connection = get_current_job().connection
    sent = keys.webhook_key(job_id, outcome, "sent")
    if connection.exists(sent):
        return {"sent": False, "reason": "already delivered"}
    if not settings.webhook_secret:
        raise WebhookRefused("WEBHOOK_SECRET is not set on this worker, so nothing can be signed")
    try:
        ended_job = SpoolJob.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return {"sent": False, "reason": "the job has expired"}
    url = Meta.of(ended_job).webhook_url
    if not url:
        return {"sent": False, "reason": "the job has no webhook URL"}
    body = json.dumps(snapshots.snapshot(ended_job), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE: signature(settings.webhook_secret, body, int(time.time())),
        DELIVERY: delivery_id(job_id, outcome),
    }
    try:
        answer = post(url, body, headers)
    except UnsafeUrl as exc:  # its name now resolves to a private address: no retry can help
        return {"sent": False, "reason": str(exc)}
    if not 200 <= answer < 300:
        raise WebhookRefused(f"the receiver answered HTTP {answer}")
    connection.set(sent, "1", ex=settings.result_ttl)
    return {"sent": True, "status": answer}
