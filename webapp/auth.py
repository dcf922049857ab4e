"""Who is asking: the owner of jobs (a random id in the signed session cookie), CSRF
protection for forms and cookie-borne API calls, and the WebSocket `Origin` check.

    owner = owner_id()          # creates the browser's owner id on first use
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, session
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    csrf.init_app(app)


def owner_id() -> str:
    """The caller's owner id; a browser without one is given one now."""
    owner = session.get("owner")
    if not owner:
        owner = session["owner"] = secrets.token_urlsafe(16)
        session.permanent = True
    return owner


def current_owner() -> str | None:
    """The caller's owner id if they have one, without creating it."""
    return session.get("owner")


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
    allowed = current_app.config["ALLOWED_ORIGINS"]
    if origin in allowed or urlsplit(origin).netloc == request.host:
        return
    abort(403, description=f"WebSocket connections from {origin} are not allowed.")
