"""What the hub hands each socket: deliveries (events ready to send, and notices), each socket's
queue of them (a Watcher), and the frame an event is sent in.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

UNSET = object()
# What a status check reports for a job that no longer exists (expired, or deleted).
GONE = "gone"
# Deliveries that end a socket, kept even when a stuck client's queue is full: the process is
# shutting down ("close"), or the client sent data on a socket that only sends ("refused").
ENDINGS = ("close", "refused")
# How many deliveries a socket may have waiting before it is taken for stuck.
MAX_PENDING = 1000


@dataclass(frozen=True)
class Delivery:
    # "event" (text is ready to send), "rest" (the bytes of events the hub began writing),
    # "check" (a final status the checks read), "resync", "close" (the process is shutting down:
    # close the socket so the client reconnects elsewhere), "refused" (the client sent data),
    # "stalled" (the job's worker stopped responding) or "moved" (a waiting job's place changed)
    kind: str
    seq: int = 0
    event: dict | None = None
    text: str = ""
    data: bytes = b""  # "rest": what the hub could not write straight to the socket

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
        # The last event the client has (or will have once "rest" deliveries are written).
        self.last_seq = 0
        # While the socket's handler waits with nothing left to write, the raw socket the hub may
        # write events to itself (see write_now); None otherwise.
        self.sink = None

    def write_now(self, frames: bytes, seq: int) -> bool:
        """Write the frames of events up to `seq` straight to the socket, if its handler is
        waiting with nothing queued (so nothing can come out of order); False if it is not.

        Under gevent the hub runs between the handlers, never beside them: a frame written here
        saves the handler's wake-up, its queue and its write, per socket and per event. What the
        socket cannot take at once is queued for the handler as "rest", before anything else.
        """
        if self.sink is None or self._pending:
            return False
        try:
            written = self.sink.send(frames)
        except OSError:  # full (BlockingIOError), or gone: the handler's own write finds out which
            written = 0
        self.last_seq = seq
        if written < len(frames):
            self.sink = None
            self.put(Delivery("rest", data=frames[written:]))
        return True

    def put(self, delivery: Delivery) -> None:
        if len(self._pending) >= MAX_PENDING:  # a stuck client: it will resync from a snapshot
            self._pending.clear()
            delivery = delivery if delivery.kind in ENDINGS else Delivery("resync")
        self._pending.append(delivery)  # before the event is set: see get()
        self._ready.set()

    @property
    def ready(self) -> threading.Event:
        """Set when a delivery is put: whatever else sets it only wakes the socket to look."""
        return self._ready

    def get(self, timeout: float | None = None) -> Delivery | None:
        """The next delivery, waiting up to `timeout` (None: until one comes or the event is set)."""
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
