"""Structured logs: one JSON object a line, for the web's requests and the workers' jobs.

    log = jsonlog.logger("spool.request")
    log.info("request", extra={"fields": {"method": "GET", "status": 200}})
    jsonlog.transition(job, "started")      # in the worker, at each status change

A job carries the id of the request that submitted it in its meta (`request_id`), so a
worker's lines for the job can be joined with the web's line for the request. With tracing on
(jobs.core.tracing), lines also carry the `trace_id` of the request, or of the job's trace.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from jobs.core import tracing
from jobs.core.keys import Meta

# One encoder for every line: json.dumps with `default` builds a new encoder on each call.
_encode = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if tracing.active() and "trace_id" not in line and (trace_id := tracing.trace_id()):
            line["trace_id"] = trace_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _encode(line)


def logger(name: str) -> logging.Logger:
    """A logger that writes JSON lines to stderr, set up once per process."""
    log = logging.getLogger(name)
    if not any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def transition(job, status: str) -> None:
    """Log one job's change of status, with the id of the request that submitted it."""
    meta = Meta.of(job)
    logger("spool.jobs").info(
        "job",
        extra={
            "fields": {
                "job_id": job.id,
                "type": meta.type,
                "status": status,
                "request_id": meta.request_id,
                "queue": job.origin,
                "attempt": (job.number_of_retries or 0) + 1,
                **({"trace_id": tracing.trace_id_of(meta.traceparent)} if meta.traceparent else {}),
            }
        },
    )
