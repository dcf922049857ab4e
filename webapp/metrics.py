"""Prometheus metrics at /metrics, for operators of either role (signed in, or HTTP Basic with
either role's password, which is what a Prometheus scrape config sends).

Every series is the whole deployment's, whichever web process answers the scrape: queues,
jobs and workers are read from Redis at scrape time; sockets open are summed over the live
web processes' own counts (webapp.sockets); and the counters (events delivered, finished
jobs' durations) are kept in Redis as things happen (jobs.core.measures), so they never fall
when jobs expire or a process restarts.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from rq import Queue, Worker
from rq.utils import utcparse

from jobs.core import keys, measures
from webapp import auth, guesses, resources

bp = Blueprint("metrics", __name__)

# The newest jobs read per registry at each scrape; older ones are not counted.
SCAN = 10_000
FINAL_REGISTRIES = ("finished", "failed", "canceled")


def _authorised() -> bool:
    if auth.is_operator():
        return True
    credentials = request.authorization
    return bool(credentials and credentials.password and guesses.check(credentials.password, "metrics"))


def _seconds(raw: str | None) -> datetime | None:
    return utcparse(raw) if raw else None


class SpoolCollector:
    """Reads queues, registries and workers from Redis when scraped."""

    def __init__(self, connection, ledger):
        self.connection, self.ledger = connection, ledger

    def collect(self):
        depth = GaugeMetricFamily("spool_queue_depth", "Jobs waiting in the queue", labels=["queue"])
        oldest = GaugeMetricFamily(
            "spool_queue_oldest_job_age_seconds", "How long the oldest waiting job has waited", labels=["queue"]
        )
        jobs = GaugeMetricFamily(
            "spool_jobs",
            "Jobs kept in Redis by queue, state and type (within RESULT_TTL)",
            labels=["queue", "state", "type"],
        )
        now = datetime.now(UTC)
        for name in sorted({q.name for q in Queue.all(connection=self.connection)}):
            q = resources.queue(name)
            depth.add_metric([name], q.count)
            first = q.get_job_ids(0, 1)
            enqueued = _seconds(keys.enqueued_at(self.connection, first[0])) if first else None
            oldest.add_metric([name], (now - enqueued).total_seconds() if enqueued else 0)
            counts: Counter = Counter()
            registries = (
                q.started_job_registry,
                q.scheduled_job_registry,
                q.finished_job_registry,
                q.failed_job_registry,
                q.canceled_job_registry,
            )
            for registry in registries:
                ids = registry.get_job_ids(-SCAN, -1, cleanup=False)
                for state, type_name in self._jobs(ids):
                    counts[state, type_name] += 1
            for (state, type_name), count in sorted(counts.items()):
                jobs.add_metric([name, state, type_name], count)
        yield depth
        yield oldest
        yield jobs
        yield self._histogram()
        workers = Worker.all(connection=self.connection)
        alive = GaugeMetricFamily("spool_workers", "Workers alive, by state", labels=["state"])
        states = Counter(getattr(state, "value", str(state)) for state in (w.get_state() for w in workers))
        for state, count in sorted(states.items()):
            alive.add_metric([state], count)
        yield alive
        yield GaugeMetricFamily(
            "spool_websockets_open", "WebSockets open on all web processes", value=self.ledger.open_sockets()
        )
        yield CounterMetricFamily(
            "spool_events_delivered",
            "Progress events sent to sockets by all web processes",
            value=measures.totals(self.connection).get("events_delivered", 0),
        )

    def _jobs(self, ids: list[str]):
        """(status, type) of each job, in one round trip."""
        for record in keys.statuses_and_types(self.connection, ids):
            if record is not None:  # else it expired since the registry was read
                yield record[0], record[1] or "unknown"

    def _histogram(self) -> HistogramMetricFamily:
        histogram = HistogramMetricFamily(
            "spool_job_duration_seconds", "How long finished jobs ran, by type", labels=["type"]
        )
        for type_name, (buckets, total, _count) in measures.durations(self.connection).items():
            histogram.add_metric([type_name], buckets, total)
        return histogram


@bp.get("/metrics")
def metrics():
    """Expose queue, job, worker and socket metrics in the Prometheus text format."""
    if not _authorised():
        return Response(
            "Operators only: sign in, or use HTTP Basic with an operator password.\n",
            401,
            {"WWW-Authenticate": 'Basic realm="spool metrics"', "Content-Type": "text/plain"},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SpoolCollector(resources.redis(), current_app.extensions["spool"]["ledger"]))
    return Response(
        generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )
