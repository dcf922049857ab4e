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
    """Refuse a state-changing API call riding on a cookie unless a page could not forge it.

    Browsers cannot send `Content-Type: application/json` cross-site without CORS (which
    Spool never grants), so such calls pass; anything else needs the X-CSRFToken header.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.mimetype == "application/json":
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
