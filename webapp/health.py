"""Health checks for load balancers and orchestrators: /healthz and /readyz."""

from __future__ import annotations

from flask import Blueprint
from redis.exceptions import RedisError
from rq import Worker

from webapp.resources import redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 while the process is up."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Answer 200 when Redis answers and at least one worker is alive, else 503 with why."""
    problems = []
    try:
        redis().ping()
        if Worker.count(connection=redis()) == 0:
            problems.append("no worker is running")
    except RedisError as exc:
        problems.append(f"Redis is unreachable: {exc}")
    if problems:
        return {"status": "unavailable", "problems": problems}, 503
    return {"status": "ok"}
