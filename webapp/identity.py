"""Who owns the jobs a request asks about, in this order:

1. a bearer token's owner, `token:<name>`;
2. a trusted proxy's user header (TRUSTED_USER_HEADER, e.g. `X-Forwarded-User` as oauth2-proxy
   or Authelia set it), believed only from FORWARDED_ALLOW_IPS: `user:<name>`, with the
   address of TRUSTED_EMAIL_HEADER;
3. the embedding app's OWNER_LOADER(), returning `(id, email)` or None: `user:<id>`;
4. else an anonymous owner, a random id in the signed session cookie, made on the first page
   view or API call so that every later request of that browser shares it.

    owner = owner_id()          # the caller's owner; 429 if an anonymous one cannot be made
    who = identity()            # Identity(owner, name, email), name None when anonymous
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from flask import Flask, abort, current_app, g, request, session
from werkzeug.exceptions import HTTPException

from webapp import proxies, quotas, repository, tokens
from webapp.submission import EMAIL

# Blueprints whose first response gives an anonymous browser its owner.
OWNED_BLUEPRINTS = frozenset({"pages", "api"})
MAX_NAME = 200
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")


@dataclass(frozen=True)
class Identity:
    owner: str | None
    name: str | None = None  # the user's name; None for a browser known only by its cookie
    email: str | None = None


def init_app(app: Flask) -> None:
    for name in OWNED_BLUEPRINTS:
        app.before_request_funcs.setdefault(name, []).append(_give_browser_an_owner)

    @app.context_processor
    def _who() -> dict:
        try:
            who = identity()
        except HTTPException:
            who = Identity(None)
        return {"who": who, "kept_elsewhere": _anonymous_jobs(who)}


def _token_owner() -> str | None:
    """The owner named by the request's bearer token, or None without one; 401 for a bad one."""
    token = tokens.of_request()
    return tokens.owner_of(token.name) if token else None


def _header(name: str | None) -> str | None:
    """A trusted identity header's value, refused with 400 when no proxy would send it."""
    value = request.headers.get(name) if name else None
    if value is None:
        return None
    if any(unicodedata.category(c).startswith("C") for c in value):
        abort(400, description=f"The {name} header contains control or invisible characters.")
    if len(value) > MAX_NAME:
        abort(400, description=f"The {name} header is {len(value)} characters long; at most {MAX_NAME} are accepted.")
    return value


def _from_proxy() -> Identity | None:
    config = current_app.config
    if not config["TRUSTED_USER_HEADER"] or not proxies.from_trusted_proxy():
        return None
    user = _header(config["TRUSTED_USER_HEADER"])
    if user is None:
        return None
    if not USER_NAME.fullmatch(user):
        abort(
            400,
            description=f"The {config['TRUSTED_USER_HEADER']} header is not a user name: letters, digits and "
            "'.', '_', '@', '+', '-' only, starting with a letter or digit.",
        )
    email = _header(config["TRUSTED_EMAIL_HEADER"])
    if email is not None and not EMAIL.fullmatch(email):
        abort(400, description=f"The {config['TRUSTED_EMAIL_HEADER']} header is not an email address.")
    return Identity(f"user:{user}", user, email)


def proxy_user() -> str | None:
    """The user a trusted proxy names, or None (400 for a malformed header)."""
    found = _from_proxy()
    return found.name if found else None


def _from_loader() -> Identity | None:
    loader = current_app.config["OWNER_LOADER"]
    found = loader() if loader else None
    if found is None:
        return None
    user_id, email = found if isinstance(found, tuple) else (found, None)
    user = str(user_id)
    if not user or len(user) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in user):
        raise ValueError(f"OWNER_LOADER returned an id Spool cannot use: {user[:MAX_NAME]!r}")
    return Identity(f"user:{user}", user, email or None)


def identity() -> Identity:
    """The caller, worked out once per request; owner None for a browser not yet given one."""
    if "identity" not in g:
        token_owner = _token_owner()
        if token_owner:
            g.identity = Identity(token_owner, token_owner.removeprefix("token:"))
        else:
            g.identity = _from_proxy() or _from_loader() or Identity(session.get("owner"))
    return g.identity


def _new_anonymous_owner() -> str | None:
    """Give this browser an owner, unless its address has been given too many within the hour."""
    refused = quotas.new_owner_allowed(proxies.client_address())
    if refused is not None:
        g.owner_refused = refused
        return None
    owner = session["owner"] = secrets.token_urlsafe(16)
    session.permanent = True
    g.identity = Identity(owner)
    return owner


def _give_browser_an_owner() -> None:
    if tokens.bearer() is not None:
        return
    if identity().owner is None:
        _new_anonymous_owner()


def owner_id() -> str:
    """The caller's owner id; a browser without one is given one now (429 past the limit)."""
    owner = identity().owner
    if owner:
        return owner
    if "owner_refused" not in g:
        owner = _new_anonymous_owner()
        if owner:
            return owner
    raise quotas.new_owners_refused(g.owner_refused)


def current_owner() -> str | None:
    """The caller's owner id if they have one, without creating it."""
    return identity().owner


def anonymous_owner() -> str | None:
    """The browser's anonymous owner, kept in its cookie after its user identified themselves."""
    return session.get("owner")


def _anonymous_jobs(who: Identity) -> int:
    """How many jobs this browser made before its user was known, if they are known now."""
    anonymous = anonymous_owner()
    if who.name is None or anonymous is None or who.owner.startswith("token:"):
        return 0
    return repository.count(anonymous)
