"""One Redis pub/sub subscription per web process, fanned out to that process's sockets.

    watcher = hub.watch(job_id)      # then watcher.get(timeout) -> Delivery | None
    hub.unwatch(watcher)
    hub.close_all()                  # the process is shutting down: every socket is told to close

Each published event is parsed and re-serialised once, however many sockets watch its job.
Once a second the hub also reads the status of every watched job in one pipeline, so a
socket learns of a final state even if its event was lost (Redis restarted, say).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from redis import Redis
from redis.exceptions import RedisError, ResponseError

from jobs.core import catalogue, events, keys, status
from webapp.sockets import Ledger

log = logging.getLogger(__name__)
UNSET = object()
# What a status check reports for a job that no longer exists (expired, or deleted).
GONE = "gone"
# Deliveries that end a socket, kept even when a stuck client's queue is full: the process is
# shutting down ("close"), or the client sent data on a socket that only sends ("refused").
ENDINGS = ("close", "refused")
# How many deliveries a socket may have waiting before it is taken for stuck.
MAX_PENDING = 1000
# Every hub in this process, so that a server's shutdown hook can reach their sockets.
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()


def close_all_sockets() -> None:
    """Ask every open socket of this process to close (gunicorn calls this on SIGTERM)."""
    for hub in list(_HUBS):
        hub.close_all()


@dataclass(frozen=True)
class Delivery:
    # "event" (text is ready to send), "check" (status read by the reconciler), "resync",
    # "close" (the process is shutting down: close the socket so the client reconnects elsewhere),
    # "refused" (the client sent data), or "stalled" (the job's worker stopped responding)
    kind: str
    seq: int = 0
    event: dict | None = None
    text: str = ""

    # What the first socket to handle this delivery worked out for all of them (see `shared`).
    _shared: dict = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @cached_property
    def frame(self) -> bytes:
        """The text as one WebSocket text frame, built once for every socket that sends it."""
        return frame(self.text)

    def shared(self, build: Callable[[], object]) -> object:
        """What `build` returns, built by the first socket that asks and handed to the others.

        Every socket watching a job gets the same delivery, and what follows a final status (a
        snapshot of the ended job) is the same for all of them: read once, not once a socket.
        A build that raises is not kept; the next socket tries again.
        """
        with self._lock:
            if "value" not in self._shared:
                self._shared["value"] = build()
            return self._shared["value"]


def frame(text: str) -> bytes:
    """`text` as one WebSocket text frame.

    A server's frames are not masked, and the sockets do not compress, so the bytes are the
    same for every socket that sends them.
    """
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class Watcher:
    def __init__(self, job_id: str):
        self.job_id = job_id
        # The place in line of a waiting job as this socket last showed it (see Hub._check_places);
        # UNSET until its first snapshot is sent.
        self.place: int | None | object = UNSET
        # A deque and an event, not a queue.Queue: under gevent, a Queue's condition variable
        # costs a lock made, taken and dropped on every wait, for every socket and every event.
        self._pending: deque[Delivery] = deque()
        self._ready = threading.Event()

    def put(self, delivery: Delivery) -> None:
        if len(self._pending) >= MAX_PENDING:  # a stuck client: it will resync from a snapshot
            self._pending.clear()
            delivery = delivery if delivery.kind in ENDINGS else Delivery("resync")
        self._pending.append(delivery)  # before the event is set: see get()
        self._ready.set()

    def get(self, timeout: float) -> Delivery | None:
        if not self._pending:
            self._ready.clear()
            # Looked at again after the clear: a delivery put meanwhile was appended before its
            # event was set, so it is either seen here or it sets the event again.
            if not self._pending:
                self._ready.wait(timeout)
        return self.get_nowait()

    def get_nowait(self) -> Delivery | None:
        try:
            return self._pending.popleft()
        except IndexError:
            return None


class Hub:
    def __init__(self, connection: Redis, ledger: Ledger | None = None, check_interval: float = 1.0):
        self.connection = connection
        self.ledger = ledger
        self.check_interval = check_interval
        self._watchers: dict[str, set[Watcher]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self._delivered_counted = 0  # of `delivered`, how many the cluster's total has
        # Watched jobs already reported as stalled (their worker's heartbeat lapsed).
        self._stalled: set[str] = set()
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

    def _group(self, job_id: str) -> list[Watcher]:
        with self._lock:
            return list(self._watchers.get(job_id, ()))

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
        next_check = time.monotonic() + self.check_interval
        while True:
            message = pubsub.get_message(timeout=self.check_interval)
            if message is not None and message["type"] == "pmessage":
                self._dispatch(message["channel"], message["data"])
            if time.monotonic() >= next_check:
                self._check_statuses()
                if self.ledger is not None:
                    self._heartbeat()
                next_check = time.monotonic() + self.check_interval

    def _heartbeat(self) -> None:
        delivered = self.delivered
        try:
            self.ledger.heartbeat(delivered - self._delivered_counted)
        except ResponseError as exc:  # Redis refuses writes (full, read-only): events still flow
            log.warning("could not renew this process's socket counts: %s", exc)
            return
        self._delivered_counted = delivered

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        job_id = channel.decode()[len(keys.CHANNEL_PREFIX) :]
        watchers = self._group(job_id)
        if not watchers:
            return
        seq, event = events.parse_message(data)
        event["seq"] = seq
        delivery = Delivery("event", seq, event, json.dumps(event, separators=(",", ":")))
        for watcher in watchers:
            watcher.put(delivery)
        self.delivered += len(watchers)

    def _check_statuses(self) -> None:
        with self._lock:
            job_ids = list(self._watchers)
        if not job_ids:
            return
        states = keys.statuses(self.connection, job_ids)
        for job_id, state in zip(job_ids, states, strict=True):
            state = state or GONE
            if state in status.TERMINAL or state == GONE:
                check = Delivery("check", event={"status": state})  # one for all: see Delivery.shared
                for watcher in self._group(job_id):
                    watcher.put(check)
        running = {j for j, s in zip(job_ids, states, strict=True) if s == status.STARTED}
        self._check_stalled(running)
        self._check_places([j for j, s in zip(job_ids, states, strict=True) if s == status.QUEUED])

    def _check_places(self, waiting: list[str]) -> None:
        """Tell the sockets of a waiting job that moved up in line (no event says so either)."""
        for job_id, place in zip(waiting, keys.queue_positions(self.connection, waiting), strict=True):
            for watcher in self._group(job_id):
                if watcher.place is not UNSET and watcher.place != place:
                    watcher.place = place
                    watcher.put(Delivery("moved"))

    def _check_stalled(self, running: set[str]) -> None:
        """Tell the sockets of a running job whose worker stopped responding: no event will say so."""
        stalled = set()
        if running:
            queues = {job_type.queue for job_type in catalogue.CATALOGUE.values()}
            stalled = running & set(keys.lapsed_heartbeats(self.connection, sorted(queues), time.time()))
        for job_id in stalled - self._stalled:
            for watcher in self._group(job_id):
                watcher.put(Delivery("stalled"))
        self._stalled = stalled
