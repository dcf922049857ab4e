"""The Spool web app: pages, JSON API, live progress sockets and the operators' dashboard.

gunicorn -c gunicorn.conf.py "webapp:create_app()"
"""

from __future__ import annotations

from inspect import CO_COROUTINE
from types import FunctionType

from flask import Flask

from webapp.config import load_config


class SpoolFlask(Flask):
    def ensure_sync(self, func):
        # Flask asks inspect whether each hook and view is a coroutine function on every call,
        # a dozen times a request; for a plain function the answer is one flag of its code.
        if type(func) is FunctionType:
            return self.async_to_sync(func) if func.__code__.co_flags & CO_COROUTINE else func
        return super().ensure_sync(func)


def create_app(config: dict | None = None) -> Flask:
    """Create the app: defaults, then the environment, then `config` (tests)."""
    app = SpoolFlask(__name__)
    load_config(app, config)

    from webapp import (
        api,
        auth,
        dashboard,
        errors,
        headers,
        health,
        identity,
        logs,
        metrics,
        operators,
        ops_api,
        pages,
        resources,
        tokens,
        traces,
        ws,
    )

    traces.init_app(app)
    logs.init_app(app)
    headers.init_app(app)
    resources.init_app(app)
    auth.init_app(app)
    identity.init_app(app)
    errors.init_app(app)
    tokens.init_app(app)
    dashboard.init_app(app)
    app.register_blueprint(operators.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ops_api.bp)
    ws.init_app(app)
    return app
