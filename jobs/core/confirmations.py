"""The addresses an owner may have job emails sent to: confirmed once by a link, then remembered.

    confirmations.remember(connection, owner, "ana@example.com")
    confirmations.is_confirmed(connection, owner, "ana@example.com")  # True for 180 days

Web and workers share these: the web remembers an address when its link is followed (or when it
is the trusted identity's own verified address), and `send_job_email` sends only to one that is
remembered, so nobody can have Spool mail a stranger by typing the stranger's address.
"""

from __future__ import annotations

from email.message import EmailMessage

from jobs.core import keys
from jobs.core.config import settings

# How long an owner's confirmed addresses are remembered after the last one was confirmed.
REMEMBER_SECONDS = 180 * 24 * 3600
# How long a confirmation link may be followed.
LINK_MAX_AGE = 2 * 24 * 3600
# At most one confirmation email to one address for one owner in this long.
RESEND_SECONDS = 24 * 3600


def normal(address: str) -> str:
    """The form an address is remembered and compared in."""
    return address.strip().lower()


def remember(connection, owner: str, address: str) -> None:
    """Remember that `owner` may have job emails sent to `address`."""
    key = keys.confirmed_emails_key(owner)
    with connection.pipeline() as pipe:
        pipe.sadd(key, normal(address))
        pipe.expire(key, REMEMBER_SECONDS)
        pipe.execute()


def is_confirmed(connection, owner: str, address: str) -> bool:
    return bool(connection.sismember(keys.confirmed_emails_key(owner), normal(address)))


def first_today(connection, owner: str, address: str) -> bool:
    """Whether no confirmation link went to `address` for `owner` today; marks that one goes now."""
    return bool(connection.set(keys.confirmation_sent_key(owner, normal(address)), "1", nx=True, ex=RESEND_SECONDS))


def compose(address: str, link: str) -> EmailMessage:
    """The confirmation email: the address and the link, and nothing else the submitter chose."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = address
    message["Subject"] = "Spool: confirm your email address"
    hours = LINK_MAX_AGE // 3600
    lines = [
        f"Someone asked Spool to email {address} when their jobs end.",
        "",
        f"If that was you, open this link within {hours} hours and press Confirm:",
        link,
        "",
        "If it was not you, ignore this email: no job emails will be sent to this address.",
    ]
    message.set_content("\n".join(lines))
    return message
