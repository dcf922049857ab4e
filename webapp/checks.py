"""What no event says, read once a second for every job a web process's sockets watch: a
final state whose event was lost (Redis restarted, say), a running job whose worker stopped
responding, a waiting job that moved up in line.

    checks = Checks(hub)          # the hub starts it with its first socket
    checks.run()                  # in a thread (a greenlet under gevent) of its own

The checks run apart from the hub's dispatch of events, and read Redis in slices of jobs: under
gevent each slice's round trip lets the sockets run, so reading a thousand watched jobs does not
hold every event back while their replies are parsed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from redis.exceptions import RedisError, ResponseError

from jobs.core import catalogue, keys, status
from webapp.watchers import GONE, UNSET, Delivery

if TYPE_CHECKING:
    from webapp.hub import Hub

log = logging.getLogger(__name__)
# Jobs read in one round trip.
SLICE = 200


class Checks:
    def __init__(self, hub: Hub):
        self.hub = hub
        # Watched jobs already reported as stalled (their worker's heartbeat lapsed).
        self._stalled: set[str] = set()
        self._delivered_counted = 0  # of the hub's `delivered`, how many the cluster's total has

    def run(self) -> None:
        while True:
            time.sleep(self.hub.check_interval)
            try:
                self.check()
                if self.hub.ledger is not None:
                    self._heartbeat()
            except RedisError as exc:  # Redis is away: the subscription's loss says so; try again
                log.warning("could not check the watched jobs: %s", exc)

    def check(self) -> None:
        job_ids = self.hub.watched()
        states: list[str | None] = []
        for start in range(0, len(job_ids), SLICE):
            states += keys.statuses(self.hub.connection, job_ids[start : start + SLICE])
        for job_id, state in zip(job_ids, states, strict=True):
            state = state or GONE
            if state in status.TERMINAL or state == GONE:
                self.hub.deliver(job_id, Delivery("check", event={"status": state}))  # one for all
        running = {j for j, s in zip(job_ids, states, strict=True) if s == status.STARTED}
        self._check_stalled(running)
        waiting = [j for j, s in zip(job_ids, states, strict=True) if s == status.QUEUED]
        for start in range(0, len(waiting), SLICE):
            self._check_places(waiting[start : start + SLICE])

    def _check_places(self, waiting: list[str]) -> None:
        """Tell the sockets of a waiting job that moved up in line (no event says so either)."""
        for job_id, place in zip(waiting, keys.queue_positions(self.hub.connection, waiting), strict=True):
            for watcher in self.hub.group(job_id):
                if watcher.place is not UNSET and watcher.place != place:
                    watcher.place = place
                    watcher.put(Delivery("moved"))

    def _check_stalled(self, running: set[str]) -> None:
        """Tell the sockets of a running job whose worker stopped responding: no event will say so."""
        stalled = set()
        if running:
            queues = {job_type.queue for job_type in catalogue.CATALOGUE.values()}
            stalled = running & set(keys.lapsed_heartbeats(self.hub.connection, sorted(queues), time.time()))
        for job_id in stalled - self._stalled:
            self.hub.deliver(job_id, Delivery("stalled"))
        self._stalled = stalled

    def _heartbeat(self) -> None:
        delivered = self.hub.delivered
        try:
            self.hub.ledger.heartbeat(delivered - self._delivered_counted)
        except ResponseError as exc:  # Redis refuses writes (full, read-only): events still flow
            log.warning("could not renew this process's socket counts: %s", exc)
            return
        self._delivered_counted = delivered
