"""One Redis pub/sub subscription per web process, fanned out to that process's sockets.

    watcher = hub.watch(job_id)      # then watcher.get(timeout) -> Delivery | None
    hub.unwatch(watcher)
    hub.close_all()                  # the process is shutting down: every socket is told to close

Each published event is parsed and re-serialised once, however many sockets watch its job,
and the events read together go to each socket in one write: by the hub itself to a socket
whose handler waits with nothing queued (webapp.watchers.Watcher.write_now), else through
the handler's queue. A status change always goes through the handler, which follows a final
one with the snapshot. Once a second, apart from the events, the hub's checks (webapp.checks)
read what no event says: a final state whose event was lost, a stalled worker, a place in line.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref

from redis import Redis
from redis.exceptions import RedisError

from jobs.core import events, keys
from webapp.checks import Checks
from webapp.sockets import Ledger
from webapp.watchers import Delivery, Watcher

log = logging.getLogger(__name__)
# The most messages one dispatch takes: a flood still lets the sockets run.
MAX_BATCH = 500
# Every hub in this process, so that a server's shutdown hook can reach their sockets.
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()


def close_all_sockets() -> None:
    """Ask every open socket of this process to close (gunicorn calls this on SIGTERM)."""
    for hub in list(_HUBS):
        hub.close_all()


class Hub:
    def __init__(self, connection: Redis, ledger: Ledger | None = None, check_interval: float = 1.0):
        self.connection = connection
        self.ledger = ledger
        self.check_interval = check_interval
        self._watchers: dict[str, set[Watcher]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._checker: threading.Thread | None = None
        self.delivered = 0
        _HUBS.add(self)

    def watch(self, job_id: str) -> Watcher:
        self._ensure_running()
        watcher = Watcher(job_id)
        with self._lock:
            self._watchers.setdefault(job_id, set()).add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            group = self._watchers.get(watcher.job_id)
            if group is not None:
                group.discard(watcher)
                if not group:
                    del self._watchers[watcher.job_id]

    def close_all(self) -> None:
        self._broadcast(Delivery("close"))

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="spool-hub", daemon=True)
                self._thread.start()
            if self._checker is None or not self._checker.is_alive():
                target = Checks(self).run
                self._checker = threading.Thread(target=target, name="spool-hub-checks", daemon=True)
                self._checker.start()

    def watched(self) -> list[str]:
        """The jobs that sockets of this process watch."""
        with self._lock:
            return list(self._watchers)

    def group(self, job_id: str) -> list[Watcher]:
        """The watchers of one job."""
        with self._lock:
            return list(self._watchers.get(job_id, ()))

    def deliver(self, job_id: str, delivery: Delivery) -> None:
        """Give one delivery to every socket watching a job."""
        for watcher in self.group(job_id):
            watcher.put(delivery)

    def _broadcast(self, delivery: Delivery, job_ids=None) -> None:
        with self._lock:
            targets = [w for j, g in self._watchers.items() if job_ids is None or j in job_ids for w in g]
        for watcher in targets:
            watcher.put(delivery)

    def _run(self) -> None:
        backoff = 0.5
        while True:
            pubsub = self.connection.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(keys.CHANNEL_PATTERN)
                if backoff > 0.5:  # we were cut off: events may have been missed
                    self._broadcast(Delivery("resync"))
                backoff = 0.5
                self._listen(pubsub)
            except RedisError as exc:
                log.warning("event subscription lost (%s); retrying in %.1fs", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except RedisError:
                    pass

    def _listen(self, pubsub) -> None:
        while True:
            message = pubsub.get_message(timeout=self.check_interval)
            # Every message already read is dispatched together: a job's events published at
            # once (a tick's log lines and progress) go to each socket in one write.
            batch: dict[str, list[Delivery]] = {}
            for _ in range(MAX_BATCH):
                if message is None:
                    break
                if message["type"] == "pmessage":
                    self._parse(message["channel"], message["data"], batch)
                message = pubsub.get_message(timeout=0)
            else:
                if message is not None and message["type"] == "pmessage":
                    self._parse(message["channel"], message["data"], batch)
            for job_id, deliveries in batch.items():
                self._dispatch(job_id, deliveries)

    def _parse(self, channel: bytes, data: bytes, batch: dict[str, list[Delivery]]) -> None:
        job_id = channel.decode()[len(keys.CHANNEL_PREFIX) :]
        if job_id not in self._watchers:  # read without the lock: _dispatch looks again
            return
        seq, event = events.parse_message(data)
        event["seq"] = seq
        delivery = Delivery("event", seq, event, json.dumps(event, separators=(",", ":")))
        batch.setdefault(job_id, []).append(delivery)

    def _dispatch(self, job_id: str, deliveries: list[Delivery]) -> None:
        watchers = self.group(job_id)
        # The events before the first status change may be written straight to the sockets;
        # a status change and what follows it go through each socket's handler (snapshots).
        plain = 0
        while plain < len(deliveries) and deliveries[plain].event["type"] != "status":
            plain += 1
        frames = b"".join(d.frame for d in deliveries[:plain]) if plain else b""
        first = deliveries[0].seq
        for watcher in watchers:
            rest = deliveries
            if plain and watcher.last_seq < first and watcher.write_now(frames, deliveries[plain - 1].seq):
                rest = deliveries[plain:]
            for delivery in rest:
                watcher.put(delivery)
        self.delivered += len(watchers) * len(deliveries)
