"""A wall-clock deadline for one URL, however slowly its server answers.

deadline = Deadline(10)
with pool_within(deadline, "https", ip, 443, host) as pool: ...   # its sockets are watched
deadline.cancel()
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time

import urllib3


class Deadline:
    """A wall-clock limit on one URL: when it passes, the sockets of its connections are shut,
    so a read blocked on a server that sends a byte at a time returns at once.

    urllib3's timeouts bound each read, not the whole answer: a body trickling in a byte
    every few seconds never trips them. One thread per process watches every deadline: a
    timer thread per URL cost as much CPU as the request itself, and its start a wait of
    milliseconds.
    """

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self.canceled = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        _watchdog.add(self)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            if self.canceled:
                return
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def cancel(self) -> None:
        with self._lock:
            self.canceled = True
            self._sockets.clear()  # the watchdog keeps the deadline until its time, not its sockets


class _Watchdog:
    """The thread that expires deadlines in the order they fall due, started on first use in
    each process (a forked work horse gets a fresh one: threads do not survive a fork)."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._due = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._due:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="link-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._due.notify()  # due before the one the thread waits for

    def _run(self) -> None:
        with self._due:
            while True:
                while self._heap and self._heap[0][2].canceled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._due.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._due.wait(wait)
                    continue
                heapq.heappop(self._heap)[2]._expire()


_watchdog = _Watchdog()


def pool_within(deadline: Deadline, scheme: str, ip: str, port: int, host: str):
    """A one-connection pool to `ip` whose connections are watched by `deadline`."""
    base = urllib3.HTTPSConnectionPool if scheme == "https" else urllib3.HTTPConnectionPool

    class Watched(base.ConnectionCls):
        def connect(self):
            super().connect()
            deadline.watch(self.sock)

    tls = {"server_hostname": host, "assert_hostname": host} if scheme == "https" else {}
    pool = base(ip, port, maxsize=1, retries=False, timeout=urllib3.Timeout(total=deadline.remaining()), **tls)
    pool.ConnectionCls = Watched
    return pool
