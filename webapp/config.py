"""The web app's configuration, derived from Spool's one configuration source.

Defaults come from `jobs.core.config.settings` (the environment, read once, shared with the
workers) plus what only the web needs; then `SPOOL_*` variables, then `create_app(config)`.
The settings the two sides share are written into Flask's config and read back after the
overrides, so the app keeps one `Settings` (in `app.extensions["spool"]`) that every part of
it reads: the form, the API and its description cannot disagree.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from jobs.core.config import settings as base_settings

# The settings the web reads from the shared source. Where job-end emails go out (SMTP_URL):
# without it the option is hidden and the API refuses it.
SHARED = ("redis_url", "result_ttl", "max_upload_mb", "smtp_url", "base_url", "webhook_secret")


def load_config(app: Flask, overrides: dict | None) -> None:
    production = os.environ.get("SPOOL_ENV", "development") == "production"
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY") or None,
        # The operators' secrets: an admin changes things, an observer only reads (webapp.auth).
        OPERATOR_PASSWORD=os.environ.get("OPERATOR_PASSWORD") or None,
        OBSERVER_PASSWORD=os.environ.get("OBSERVER_PASSWORD") or None,
        # Users a trusted proxy names (TRUSTED_USER_HEADER) who are operators without a password.
        OPERATOR_USERS=_names("OPERATOR_USERS"),
        OBSERVER_USERS=_names("OBSERVER_USERS"),
        # How long the audit log keeps an operator's action.
        AUDIT_RETENTION_DAYS=float(os.environ.get("AUDIT_RETENTION_DAYS", 90)),
        # How long an operator's sign-in lasts.
        OPERATOR_SESSION_SECONDS=8 * 3600,
        # The shared settings, by their upper-case names; an override of one changes it app-wide.
        **{name.upper(): getattr(base_settings, name) for name in SHARED},
        # Proxies whose X-Forwarded-* headers are believed (as gunicorn's own setting).
        FORWARDED_ALLOW_IPS=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        # Origins allowed to open WebSockets besides the app's own host.
        ALLOWED_ORIGINS=[o for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o],
        # Who the user is, as a trusted proxy says (e.g. X-Forwarded-User, X-Forwarded-Email),
        # or as an app that embeds Spool says: a callable returning (id, email) or None.
        TRUSTED_USER_HEADER=os.environ.get("TRUSTED_USER_HEADER") or None,
        TRUSTED_EMAIL_HEADER=os.environ.get("TRUSTED_EMAIL_HEADER") or None,
        OWNER_LOADER=None,
        # Admission limits (webapp.quotas); 0 turns one off.
        MAX_WAITING_PER_OWNER=int(os.environ.get("MAX_WAITING_PER_OWNER", 50)),
        MAX_NEW_OWNERS_PER_IP=int(os.environ.get("MAX_NEW_OWNERS_PER_IP", 30)),
        QUOTA_EXEMPT_OWNERS=_names("QUOTA_EXEMPT_OWNERS"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=30 * 24 * 3600,
        # A form's CSRF token lasts a day (longer than an operator's sign-in, far shorter than
        # the cookie); every page is rendered with a fresh one.
        WTF_CSRF_TIME_LIMIT=24 * 3600,
        WTF_CSRF_SSL_STRICT=False,
        SOCK_SERVER_OPTIONS={"ping_interval": 25, "max_message_size": 4096},
        # Sockets one owner, and one client address, may hold open across the cluster (webapp.sockets).
        MAX_SOCKETS_PER_OWNER=int(os.environ.get("MAX_SOCKETS_PER_OWNER", 20)),
        MAX_SOCKETS_PER_ADDRESS=int(os.environ.get("MAX_SOCKETS_PER_ADDRESS", 100)),
        # Replicas that must hold a submitted job before it is answered 202 (webapp.replication),
        # and how long a submit waits for them before it is withdrawn and answered 503.
        SUBMIT_REPLICAS=int(os.environ.get("SUBMIT_REPLICAS", 0)),
        SUBMIT_REPLICA_TIMEOUT_MS=int(os.environ.get("SUBMIT_REPLICA_TIMEOUT_MS", 1000)),
        PRODUCTION=production,
    )
    app.config.from_prefixed_env("SPOOL")
    if overrides:
        app.config.update(overrides)
    settings = base_settings.overridden(app.config)
    app.extensions["spool"] = {"settings": settings}
    # Flask has defaults of its own for these: derive them unless they were given.
    for key, value in (
        ("MAX_CONTENT_LENGTH", settings.max_upload_mb * 1024 * 1024 + 64 * 1024),
        ("MAX_FORM_MEMORY_SIZE", settings.max_upload_mb * 1024 * 1024),
    ):
        if key not in (overrides or {}):
            app.config[key] = value
    if not app.config["SECRET_KEY"]:
        if app.config["PRODUCTION"]:
            raise RuntimeError("SECRET_KEY is not set: production needs a long random value to sign sessions")
        app.config["SECRET_KEY"] = _dev_secret()
    if app.config["PRODUCTION"] and not app.config["OPERATOR_PASSWORD"]:
        raise RuntimeError(
            "OPERATOR_PASSWORD is not set: production needs it to guard /rq, /ops and /metrics "
            "(set it, or unset SPOOL_ENV=production on a laptop)"
        )
    if app.config["PRODUCTION"]:
        _refuse_weak(
            "SECRET_KEY",
            app.config["SECRET_KEY"],
            MIN_SECRET_KEY,
            "python -c 'import secrets; print(secrets.token_hex(32))'",
        )
        for name in ("OPERATOR_PASSWORD", "OBSERVER_PASSWORD"):
            if app.config[name]:
                _refuse_weak(name, app.config[name], MIN_OPERATOR_PASSWORD, "a passphrase of several words")
    if app.config["OBSERVER_PASSWORD"] and app.config["OBSERVER_PASSWORD"] == app.config["OPERATOR_PASSWORD"]:
        raise RuntimeError("OBSERVER_PASSWORD is the same as OPERATOR_PASSWORD: give observers a secret of their own")


def _names(variable: str) -> list[str]:
    """A comma-separated list from the environment, blanks dropped."""
    return [n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()]


# Production refuses shorter ones: a session key anyone can guess signs anyone's session,
# and a short operator password falls to guessing however slowly guesses are answered.
MIN_SECRET_KEY = 32
MIN_OPERATOR_PASSWORD = 12


def _refuse_weak(name: str, value: str, minimum: int, example: str) -> None:
    if len(value) < minimum or len(set(value)) < 6:
        raise RuntimeError(
            f"{name} is too weak for production: it needs at least {minimum} characters, not one repeated "
            f"pattern (for example {example})"
        )


def _dev_secret() -> str:
    """A laptop's key, kept under var/ so every web process and restart shares it."""
    path = Path(os.environ.get("SPOOL_VAR", "var")) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
