"""A real SMTP server (aiosmtpd) on loopback that keeps what it accepts, for the email tests.

with receiving() as (inbox, port):
    ...  # send to smtp://spool%40example:s3cret@127.0.0.1:<port>; read inbox.messages
"""

from __future__ import annotations

from contextlib import contextmanager
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers import free_port


class Inbox:
    """An SMTP handler that keeps what it accepts, refusing the first `refuse` messages."""

    def __init__(self):
        self.messages = []
        self.attempts = 0
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.messages.append((session.authenticated, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret")


@contextmanager
def receiving(**tls):
    """An Inbox behind a real SMTP server on a free port of 127.0.0.1 (with `tls`: its TLS options)."""
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), authenticator=_login, auth_require_tls=False, **tls
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
