"""The browser's session: Flask's signed cookie, re-signed at most once an hour, and its
signature checked once per cookie rather than on every request.

    app.session_interface = CookieSessions()

Flask re-signs and re-sends a permanent session on each response to slide its expiry; that
signing and the Set-Cookie header are a tenth of a JSON API call. Sliding it once per
REFRESH_AFTER keeps a cookie in use alive as long as before, to within that hour; a modified
session is still sent at once.

Reading the cookie costs as much again (an HMAC, base64, zlib and tagged JSON), and a browser
or an API client sends the same cookie with every request. The last VERIFIED cookies whose
signature held are remembered with what they hold, as long as the keys are the same; each use
still checks its age, so a remembered cookie expires when it would have.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

# How many distinct cookies a process remembers as verified.
VERIFIED = 4096
# What a remembered session may hold: values a request cannot change in place.
_PLAIN = (str, int, float, bool, type(None))


class CookieSessions(SecureCookieSessionInterface):
    REFRESH_AFTER = 3600
    _signing: tuple | None = None

    def __init__(self):
        self._verified: dict[str, tuple[dict, datetime]] = {}

    def get_signing_serializer(self, app):
        # Flask builds the serializer anew twice a request; it depends only on the keys.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signing is None or self._signing[0] != keys:
            self._signing = (keys, super().get_signing_serializer(app))
            self._verified = {}
        return self._signing[1]

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        known = self._verified.get(value)
        if known is not None:
            data, signed_at = known
            if 0 <= (datetime.now(UTC) - signed_at).total_seconds() <= max_age:
                return self._session(dict(data), signed_at)
            del self._verified[value]
        try:
            data, signed_at = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, _PLAIN) for v in data.values()):
            if len(self._verified) >= VERIFIED:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[value] = (dict(data), signed_at)
        return self._session(data, signed_at)

    def _session(self, data: dict, signed_at: datetime):
        session = self.session_class(data)
        session.signed_at = signed_at
        return session

    def should_set_cookie(self, app, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or (datetime.now(UTC) - signed_at).total_seconds() >= self.REFRESH_AFTER
