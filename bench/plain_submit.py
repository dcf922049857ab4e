"""The submit benchmark's second baseline: a bare Flask route that enqueues with RQ, served by
the same gunicorn settings as Spool's web. What Spool's submit costs beyond it is Spool's own
work: validation, identity, quotas, fair turns, the search index, the request log, headers.

    gunicorn -c gunicorn.conf.py "bench.plain_submit:create_app()"
"""

import os

from flask import Flask, request
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer


def create_app() -> Flask:
    app = Flask(__name__)
    queue = Queue("plain", connection=Redis.from_url(os.environ["REDIS_URL"]), serializer=JSONSerializer)

    @app.post("/api/jobs")
    def submit():
        request.get_json()
        job = queue.enqueue("bench.jobs.noop")
        return {"id": job.id, "status": "queued"}, 202

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
