"""A wall-clock deadline for one URL, however slowly its server answers.

deadline = Deadline(10)
with pool_within(deadline, "https", ip, 443, host) as pool: ...   # its sockets are watched
deadline.cancel()
"""

from __future__ import annotations

import socket
import threading
import time

import urllib3


class Deadline:
    """A wall-clock limit on one URL: when it passes, the sockets of its connections are shut,
    so a read blocked on a server that sends a byte at a time returns at once.

    urllib3's timeouts bound each read, not the whole answer: a body trickling in a byte
    every few seconds never trips them.
    """

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
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
        self._timer.cancel()


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
