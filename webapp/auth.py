"""Who may do what: which operator the caller is and in which role, CSRF protection for forms
and cookie-borne API calls, and the WebSocket `Origin` check. Whose jobs a request is about is
webapp.identity's.

    if is_operator(): ...       # an observer or an admin: may read everything
    @admin_required             # on every operator route that changes something: 403 otherwise
    operator()                  # Operator(name, role, via), or None

Observers read every page, /rq, /metrics and every job; admins may also stop, retry, requeue
and delete. An operator is, in this order: an operator token (`tokens create --role ...`); a
user a trusted proxy names who is listed in OPERATOR_USERS (admin) or OBSERVER_USERS; or a
browser signed in with OPERATOR_PASSWORD (admin) or OBSERVER_PASSWORD. A sign-in is kept in
Redis, the cookie holding only its random id: signing out ends it for every copy of the
cookie, and each record holds its role and a fingerprint of the password it was made with (an
HMAC keyed with SECRET_KEY, never the password), so changing a role's password ends that
role's sign-ins at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from jobs.core import keys
from webapp import resources, sessions, tokens

csrf = CSRFProtect()

ADMIN, OBSERVER = tokens.ADMIN, tokens.OBSERVER
# Each role's sign-in secret.
PASSWORDS = {ADMIN: "OPERATOR_PASSWORD", OBSERVER: "OBSERVER_PASSWORD"}
OBSERVERS_REFUSED = "Observers may look but not change anything: this needs an operator admin."


@dataclass(frozen=True)
class Operator:
    name: str  # as the audit log shows them: a user's or a token's name, or the role of a password
    role: str  # ADMIN or OBSERVER
    via: str  # "password", "token", "proxy" or "cli"


# Blueprints only a signed-in operator may reach (besides the sign-in page itself).
OPERATOR_BLUEPRINTS = frozenset({"rq_dashboard", "ops"})


def init_app(app: Flask) -> None:
    app.session_interface = sessions.CookieSessions()
    csrf.init_app(app)
    for name in OPERATOR_BLUEPRINTS:  # first in each list: before the blueprints' own hooks
        app.before_request_funcs.setdefault(name, []).insert(0, _guard_operator_pages)


def _password_fingerprint(role: str) -> str | None:
    password = current_app.config[PASSWORDS[role]]
    if not password:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{role}-password:".encode() + password.encode(), hashlib.sha256).hexdigest()


def _from_session() -> Operator | None:
    """The role of the browser's sign-in, if it is still kept and made with today's password."""
    session_id = session.get("operator")
    record = resources.redis().get(keys.operator_session_key(session_id)) if session_id else None
    role, _, fingerprint = record.decode().partition(":") if record else ("", "", "")
    expected = _password_fingerprint(role) if role in PASSWORDS else None
    if expected and hmac.compare_digest(fingerprint, expected):
        return Operator(role, role, "password")
    return None


def _from_proxy() -> Operator | None:
    from webapp.identity import proxy_user  # identity reaches auth through the repository

    user = proxy_user()
    config = current_app.config
    for role, setting in ((ADMIN, "OPERATOR_USERS"), (OBSERVER, "OBSERVER_USERS")):
        if user is not None and user in config[setting]:
            return Operator(user, role, "proxy")
    return None


def operator() -> Operator | None:
    """The operator making this request, worked out once; None when it is not an operator.

    A bearer token alone decides for its request. Otherwise an admin sign-in outranks an
    observer's trusted name, so an observer who knows the admin password may act as admin.
    """
    if "operator" not in g:
        token = tokens.of_request()
        if token is not None:
            found = Operator(tokens.owner_of(token.name), token.role, "token") if token.role in PASSWORDS else None
        else:
            found = _from_proxy()
            if found is None or found.role != ADMIN:
                found = _from_session() or found
        g.operator = found
    return g.operator


def is_operator() -> bool:
    """Whether the caller is an operator of either role."""
    return operator() is not None


def is_admin() -> bool:
    found = operator()
    return found is not None and found.role == ADMIN


def require_admin() -> None:
    """Abort with 403 unless the caller is an admin, saying why."""
    if not is_admin():
        abort(403, description=OBSERVERS_REFUSED if is_operator() else "Sign in as an operator admin first.")


def admin_required(view):
    """Let only admins through to an operator route that changes something (403 otherwise)."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        require_admin()
        return view(*args, **kwargs)

    return guarded


def _end_operator_session() -> None:
    session_id = session.pop("operator", None)
    if session_id:
        resources.redis().delete(keys.operator_session_key(session_id))
    # A new CSRF token with each sign-in and sign-out: one planted or read before cannot follow.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    g.pop("operator", None)


def sign_in_operator(role: str) -> None:
    """Start a new operator session in `role` (never the one the browser brought along)."""
    _end_operator_session()
    session_id = secrets.token_urlsafe(32)
    seconds = current_app.config["OPERATOR_SESSION_SECONDS"]
    if seconds > 0:
        record = f"{role}:{_password_fingerprint(role)}"
        resources.redis().set(keys.operator_session_key(session_id), record, ex=seconds)
    session["operator"] = session_id
    session.permanent = True


def sign_out_operator() -> None:
    _end_operator_session()


def _guard_operator_pages():
    if request.endpoint == "ops.login" or is_operator():
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
