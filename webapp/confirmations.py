"""Where a job's email may go: the trusted identity's own verified address, or one its owner
confirmed by a link emailed to it (jobs.core.confirmations remembers those).

    answer = confirmations.check(owner_id(), "ana@example.com")   # before the job is enqueued
    answer["confirmed"], answer["message"]                         # for the API and the form

A submit with an unconfirmed address is accepted, and sends at most one confirmation link a day
for that owner and address; the link is signed with SECRET_KEY here, so workers need no key.
"""

from __future__ import annotations

from flask import abort, current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from jobs.core import confirmations, notify
from webapp.identity import identity
from webapp.resources import queue, redis, settings

SALT = "confirm-email"
SENT = (
    "{address} is not confirmed yet: a link to confirm it was emailed to it. "
    "Job emails go to it once the link is followed."
)
INVALID = "This confirmation link is not valid: it was changed, or not made by this server."


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def check(owner: str, address: str) -> dict:
    """Whether job emails may go to `address` for `owner`; if not, send its link (once a day)."""
    connection = redis()
    trusted = identity().email
    if trusted and confirmations.normal(trusted) == confirmations.normal(address):
        confirmations.remember(connection, owner, address)
    if confirmations.is_confirmed(connection, owner, address):
        return {"address": address, "confirmed": True, "message": f"Job emails go to {address}."}
    if confirmations.first_today(connection, owner, address):
        _send_link(owner, address)
    return {"address": address, "confirmed": False, "message": SENT.format(address=address)}


def _send_link(owner: str, address: str) -> None:
    token = serializer().dumps({"owner": owner, "address": confirmations.normal(address)})
    link = f"{settings().base_url}/email/confirm/{token}"  # as pages.confirm_email's route
    queue(notify.QUEUE).enqueue_call(
        notify.send_confirmation_email,
        kwargs={"owner": owner, "address": address, "link": link},
        retry=notify.RETRY,
        timeout=notify.SMTP_TIMEOUT * 3,
        result_ttl=24 * 3600,
        failure_ttl=settings().result_ttl,
        description="email: an address's confirmation link",
    )


def read(token: str) -> tuple[str, str]:
    """The owner and address a link names; 400 for a link that was forged, mangled or is too old."""
    try:
        found = serializer().loads(token, max_age=confirmations.LINK_MAX_AGE)
    except SignatureExpired:
        abort(400, description="This confirmation link has expired: submit a job with the address again for a new one.")
    except BadSignature:
        abort(400, description=INVALID)
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in ("owner", "address")):
        abort(400, description=INVALID)
    return found["owner"], found["address"]


def confirm(token: str) -> str:
    """Remember the address a link names for its owner; return the address."""
    owner, address = read(token)
    confirmations.remember(redis(), owner, address)
    return address
