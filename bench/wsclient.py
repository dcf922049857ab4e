"""A load client for the live progress socket: many WebSockets in one gevent process.

    python -m bench.wsclient ws://127.0.0.1:8000 COOKIE JOB_ID [JOB_ID ...]
    python -m bench.wsclient --socketio ws://127.0.0.1:8001 "" ROOM [ROOM ...]   # the peer

Opens one socket per job id given (repeat an id to watch it from several sockets), prints
`ready` once every socket has its first snapshot, then waits until every socket is closed
by the server and prints one JSON line: per-socket counts of stamped events, final states, the
latency of every stamped event (its `message` or `line` holds the `time.time()` of the
progress() or log() call), and this process's CPU time. The client speaks just enough of
RFC 6455 (text frames, ping, close, and the permessage-deflate that browsers offer) so
that it costs little per message.
"""

from gevent import monkey

monkey.patch_all()

import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402

TERMINAL = {"finished", "failed", "stopped", "canceled"}


class Socket:
    def __init__(self, base: str, cookie: str, path: str):
        url = urlsplit(base)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                # What browsers offer; a server that takes it compresses every message per socket.
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                f"Cookie: {cookie}\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"upgrade refused: {head[:80]!r}")
        self.inflate = zlib.decompressobj(-15) if b"permessage-deflate" in head.lower() else None
        self.events = 0
        self.final = False
        self.resyncs = 0

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed without a close frame")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def receive(self) -> str | None:
        """The next text message, or None once the server has closed the socket."""
        while True:
            first, second = self._take(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._take(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._take(8))
            payload = self._take(length)
            opcode = first & 0x0F
            if opcode == 1:
                if first & 0x40:  # RSV1: a compressed message
                    payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
                return payload.decode()
            if opcode == 9:
                self._send(0xA, payload)
            elif opcode == 8:
                try:
                    self._send(0x8, payload[:2])
                except OSError:
                    pass
                return None


def open_spool(base: str, cookie: str, job_id: str) -> Socket:
    s = Socket(base, cookie, f"/ws/jobs/{job_id}")
    first = json.loads(s.receive())
    if first["type"] != "snapshot":
        raise RuntimeError(f"the first message was not a snapshot: {first}")
    return s


def open_socketio(base: str, cookie: str, room: str) -> Socket:
    """Connect to the Socket.IO peer and join a job's room (acknowledged)."""
    s = Socket(base, cookie, "/socket.io/?EIO=4&transport=websocket")
    if not s.receive().startswith("0"):
        raise RuntimeError("no Engine.IO open packet")
    s.send_text("40")
    while not (s.receive() or "").startswith("40"):
        pass
    s.send_text(f'421["watch",{json.dumps(room)}]')
    while not (s.receive() or "").startswith("431"):
        pass
    return s


# The stamp of a progress or log event, found without parsing the whole message: the client
# must cost little per message, or it would be the clients' delay that gets measured.
STAMP = re.compile(r'"(?:message|line)":"([0-9.]+)"')


def spool_message(s: Socket, text: str) -> tuple[str | None, bool]:
    """The stamp of a Spool socket message, and whether the socket has its final state."""
    if '"type":"snapshot"' not in text:
        found = STAMP.search(text)
        return (found.group(1) if found else None), False
    message = json.loads(text)
    kind = message["type"]
    if kind == "snapshot":  # the final state, or a resync after missed events
        if message["status"] in TERMINAL:
            return None, True
        s.resyncs += 1
        return None, False
    return (message.get("message") if kind == "progress" else message.get("line")), False


def socketio_message(s: Socket, text: str) -> tuple[str | None, bool]:
    if text == "2":  # Engine.IO ping
        s.send_text("3")
        return None, False
    if text.startswith('42["done"'):
        return None, True
    found = STAMP.search(text) if text.startswith("42") else None
    return (found.group(1) if found else None), False


def main(argv: list[str]) -> None:
    socketio = argv[0] == "--socketio"
    if socketio:
        argv = argv[1:]
    base, cookie, job_ids = argv[0], argv[1], argv[2:]
    opener, parse = (open_socketio, socketio_message) if socketio else (open_spool, spool_message)
    latencies: list[float] = []
    sockets: list[Socket] = []

    def open_one(job_id: str) -> None:
        sockets.append(opener(base, cookie, job_id))

    # Open in small waves, as a crowd of browsers would, without a flood of handshakes.
    for start in range(0, len(job_ids), 50):
        gevent.joinall([gevent.spawn(open_one, j) for j in job_ids[start : start + 50]], raise_error=True)
    print("ready", flush=True)

    def listen(s: Socket) -> None:
        while (text := s.receive()) is not None:
            now = time.time()
            stamp, final = parse(s, text)
            if stamp:
                s.events += 1
                latencies.append(round((now - float(stamp)) * 1000, 3))
            if final:
                s.final = True
                if socketio:  # the peer keeps the socket open; the client leaves
                    break
        s.sock.close()

    gevent.joinall([gevent.spawn(listen, s) for s in sockets], raise_error=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "events": [s.events for s in sockets],
                "finals": sum(s.final for s in sockets),
                "resyncs": sum(s.resyncs for s in sockets),
                "latencies_ms": latencies,
                "cpu_s": usage.ru_utime + usage.ru_stime,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
