"""Who may do what: whether the caller is a signed-in operator, CSRF protection for forms and
cookie-borne API calls, and the WebSocket `Origin` check. Whose jobs a request is about is
webapp.identity's.

    if is_operator(): ...       # signed in with OPERATOR_PASSWORD, and not expired

An operator's sign-in is kept in Redis, the cookie holding only its random id: signing out
ends it for every copy of the cookie, and each record holds a fingerprint of the password it
was made with (an HMAC keyed with SECRET_KEY, never the password), so changing
OPERATOR_PASSWORD ends every sign-in at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature

from jobs.core import keys
from webapp import resources

csrf = CSRFProtect()

# Blueprints only a signed-in operator may reach (besides the sign-in page itself).
OPERATOR_BLUEPRINTS = frozenset({"rq_dashboard", "ops"})


class RefreshingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose permanent cookie is re-signed at most once per
    REFRESH_AFTER instead of on every response.

    Flask re-signs and re-sends a permanent session on each response to slide its expiry;
    that signing and the Set-Cookie header are a tenth of a JSON API call. Sliding it once an
    hour keeps a cookie in use alive as long as before, to within that hour; a modified
    session is still sent at once.
    """

    REFRESH_AFTER = 3600
    _signing: tuple | None = None

    def get_signing_serializer(self, app):
        # Flask builds the serializer anew twice a request; it depends only on the keys.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signing is None or self._signing[0] != keys:
            self._signing = (keys, super().get_signing_serializer(app))
        return self._signing[1]

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
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


def init_app(app: Flask) -> None:
    app.session_interface = RefreshingSessionInterface()
    csrf.init_app(app)
    app.before_request(_guard_operator_pages)


def _password_fingerprint() -> str | None:
    password = current_app.config["OPERATOR_PASSWORD"]
    if not password:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"operator-password:" + password.encode(), hashlib.sha256).hexdigest()


def is_operator() -> bool:
    """Whether the caller's operator sign-in is still kept, and made with today's password."""
    if "is_operator" not in g:
        session_id = session.get("operator")
        record = resources.redis().get(keys.operator_session_key(session_id)) if session_id else None
        fingerprint = _password_fingerprint()
        g.is_operator = bool(record and fingerprint and hmac.compare_digest(record.decode(), fingerprint))
    return g.is_operator


def _end_operator_session() -> None:
    session_id = session.pop("operator", None)
    if session_id:
        resources.redis().delete(keys.operator_session_key(session_id))
    # A new CSRF token with each sign-in and sign-out: one planted or read before cannot follow.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    g.pop("is_operator", None)


def sign_in_operator() -> None:
    """Start a new operator session (never the one the browser brought along)."""
    _end_operator_session()
    session_id = secrets.token_urlsafe(32)
    seconds = current_app.config["OPERATOR_SESSION_SECONDS"]
    if seconds > 0:
        resources.redis().set(keys.operator_session_key(session_id), _password_fingerprint(), ex=seconds)
    session["operator"] = session_id
    session.permanent = True


def sign_out_operator() -> None:
    _end_operator_session()


def _guard_operator_pages():
    if request.blueprint not in OPERATOR_BLUEPRINTS or request.endpoint == "ops.login" or is_operator():
        return None
    if request.method == "GET":
        return redirect(url_for("ops.login", next=request.full_path.rstrip("?")))
    abort(403, description="Sign in as an operator first.")


def protect_api_call() -> None:
    """Refuse an API POST riding on a cookie unless a page on another site could not forge it.

    Only POST can be sent cross-site without a CORS preflight (which Spool never grants),
    and then only with a form-like content type: JSON passes, anything else needs the
    X-CSRFToken header. Bearer-token calls carry no cookie and need neither.
    """
    if request.method != "POST" or request.mimetype == "application/json":
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return
    csrf.protect()


def check_origin() -> None:
    """Refuse a WebSocket opened by a page from another site."""
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser: programs authenticate in other ways
        return
    allowed = {_origin(o) for o in current_app.config["ALLOWED_ORIGINS"]}
    given = _origin(origin)
    if given is not None and (given in allowed or given == _origin(f"{request.scheme}://{request.host}")):
        return
    abort(403, description=f"WebSocket connections from {origin[:200]} are not allowed.")


DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """An origin as (scheme, host, port), the three parts browsers compare; None if malformed."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname, port
