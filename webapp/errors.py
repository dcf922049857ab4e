"""One place that turns every error into JSON for the API and a readable page elsewhere."""

from __future__ import annotations

import re

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from redis.exceptions import ClusterDownError, ExecAbortError, OutOfMemoryError, ReadOnlyError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from webapp.exceptions import NotCopied, OverQuota

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_params",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


# Redis refusing writes for a while, not a bug of ours: full under noeviction (OOM), a replica
# after a failover (READONLY), a transaction aborted by one of those (EXECABORT), no primary
# (MASTERDOWN), and the replies redis-py leaves as a plain ResponseError.
REFUSALS = (OutOfMemoryError, ReadOnlyError, ExecAbortError, ClusterDownError)
REFUSAL_CODES = ("BUSY", "MISCONF", "NOREPLICAS", "TRYAGAIN")
# A refusal met by a command inside one of Spool's Lua scripts arrives wrapped in a plain
# "Error running script ...: -OOM command not allowed ..." reply.
IN_SCRIPT = re.compile(r"-(OOM|READONLY|MASTERDOWN|CLUSTERDOWN|" + "|".join(REFUSAL_CODES) + r")\b")


def refuses_work(exc: ResponseError) -> bool:
    """Whether Redis refused the command for the moment (try again later), not for a bug."""
    text = str(exc)
    return isinstance(exc, REFUSALS) or text.startswith(REFUSAL_CODES) or bool(IN_SCRIPT.search(text))


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/ws/")


def error_response(status: int, message: str, fields: dict | None = None, code: str | None = None):
    if wants_json():
        body = {"code": code or CODES.get(status, "error"), "message": message}
        if fields:
            body["fields"] = fields
        return jsonify(error=body), status
    return render_template("error.html", status=status, message=message, fields=fields), status


def retry_later(answer, exc: OverQuota):
    """An answer to a request over a quota, saying when to try again."""
    response = make_response(answer)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(OverQuota)
    def over_quota(exc: OverQuota):
        return retry_later(error_response(429, str(exc), code="over_quota"), exc)

    @app.errorhandler(NotCopied)
    def not_copied(exc: NotCopied):
        app.logger.warning("a submit was withdrawn: %s", exc)
        body, status = error_response(ServiceUnavailable.code, str(exc), code="not_replicated")
        return body, status, {"Retry-After": "5"}

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, f"{exc.description} Reload the page and try again.", code="csrf_failed")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            return error_response(413, f"The request is too large: the limit is about {limit} MB.")
        body, status = error_response(exc.code or 500, exc.description or exc.name)
        # Keep what the exception says about retrying (Retry-After on 429 and 503).
        return body, status, [(k, v) for k, v in exc.get_headers() if k == "Retry-After"]

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def redis_down(exc):
        app.logger.warning("Redis unavailable: %s", exc)
        return error_response(
            ServiceUnavailable.code, "Spool's database is unreachable for the moment; try again in a few seconds."
        )

    @app.errorhandler(ResponseError)
    def redis_refused(exc: ResponseError):
        if not refuses_work(exc):
            return unexpected(exc)
        app.logger.warning("Redis refused a command: %s", exc)
        return error_response(
            ServiceUnavailable.code,
            "Spool's database is not accepting new work for the moment; nothing was saved. Try again in a minute.",
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(InternalServerError.code, "Something went wrong on our side; it has been logged.")
