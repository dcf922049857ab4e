"""The web app's shared resources: its settings, its Redis connection and its queues.

    resources.redis()               # the app's connection pool
    resources.queue("default")      # Spool's queue on it, made once per app
    resources.registries("default") # its registries, by status
    resources.settings()            # the app's configuration (see webapp.config)

Made once per app by `init_app` and kept in `app.extensions["spool"]`, as flaskr keeps its
database. A pooled client needs no teardown per request: each command returns its
connection to the pool, and the pool lives as long as the app.
"""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

from jobs.core import catalogue
from jobs.core.config import Settings
from jobs.core.connection import connect
from jobs.core.queue import queue as spool_queue


def init_app(app: Flask) -> None:
    catalogue.load()
    # Every request and socket is a greenlet: a burst of them (a thousand sockets opening) must
    # queue for the pool's connections, not fail past redis-py's default of 100.
    connection = connect(app.extensions["spool"]["settings"].redis_url, pool_wait=10, max_connections=100)
    app.extensions["spool"].update(redis=connection, queues={})


def settings() -> Settings:
    return current_app.extensions["spool"]["settings"]


def redis() -> Redis:
    return current_app.extensions["spool"]["redis"]


def queue(name: str) -> Queue:
    queues = current_app.extensions["spool"]["queues"]
    if name not in queues:
        queues[name] = spool_queue(name, redis())
    return queues[name]


def registries(name: str) -> dict:
    """The queue's RQ registries, by the name of the status each holds (RQ's own names)."""
    q = queue(name)
    return {
        "scheduled": q.scheduled_job_registry,
        "deferred": q.deferred_job_registry,
        "started": q.started_job_registry,
        "finished": q.finished_job_registry,
        "failed": q.failed_job_registry,
        "canceled": q.canceled_job_registry,
    }
