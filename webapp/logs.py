"""One JSON log line per request, and the request id that ties it to the jobs it submits.

An incoming `X-Request-ID` (from a proxy) is kept, or the trace id of a W3C `traceparent`;
otherwise a new id is made. Every response carries it back in `X-Request-ID`.
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, g, request

from jobs.core import jsonlog

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)


def request_id() -> str | None:
    """The current request's id, or None outside a request."""
    return g.get("request_id")


def _incoming_id() -> str:
    given = request.headers.get("X-Request-ID", "").strip()
    if REQUEST_ID.match(given):
        return given
    trace = TRACEPARENT.match(request.headers.get("traceparent", "").strip().lower())
    if trace and trace.group(1) != "0" * 32:
        return trace.group(1)
    return uuid.uuid4().hex


def _start() -> None:
    g.request_id = _incoming_id()
    g.request_started = time.perf_counter()


def _finish(response):
    rid = g.get("request_id") or _incoming_id()
    response.headers["X-Request-ID"] = rid
    started = g.get("request_started")
    jsonlog.logger("spool.request").info(
        "request",
        extra={
            "fields": {
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                "request_id": rid,
                "remote": request.remote_addr,
            }
        },
    )
    return response
