"""The peer the live benchmark measures Spool against: Flask-SocketIO (gevent-websocket, a Redis
message queue) under gunicorn, one process, fed the same events at the same rate, and Spool's
figures set beside its own.
"""

from __future__ import annotations

import time
import uuid

import requests

from bench.harness import Stack, Web, children, cpu_seconds, free_port, memory_mb, wait_for
from bench.live_runs import clients, collect, limit, spread, summary, web_figures
from bench.report import Figure


def start_peer(stack: Stack) -> Web:
    """Start the Flask-SocketIO peer under gunicorn, one gevent-websocket process."""
    port = free_port()
    worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
    argv = ["gunicorn", "-k", worker_class, "-w", "1", "-b", f"127.0.0.1:{port}", "bench.socketio_peer:app"]
    master = stack.spawn(argv, name="peer")
    url = f"http://127.0.0.1:{port}"

    def up():
        if master.poll() is not None:
            raise RuntimeError("the peer exited:\n" + stack.log_of(master))
        try:
            return requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=5).ok
        except requests.RequestException:
            return False

    wait_for(up, 60, "the Flask-SocketIO peer", interval=0.1)
    return Web(url, master, children(master.pid))


def peer_fan_out(stack: Stack, web: Web, sockets: int, seconds: float, processes: int) -> dict:
    """The same load on the peer: a process emits to one room at 20 events/s through Redis."""
    from flask_socketio import SocketIO

    emitter = SocketIO(message_queue=stack.url)
    room = uuid.uuid4().hex
    procs = clients(stack, web.url, "", [room] * sockets, processes, peer=True)
    pid, cpu_before = web_figures(stack, web)
    started = due = time.monotonic()
    ticks = int(seconds * 5)
    for i in range(ticks):
        for _ in range(3):
            emitter.emit("log", {"line": repr(time.time())}, to=room)
        emitter.emit("progress", {"done": i + 1, "total": ticks, "message": repr(time.time())}, to=room)
        due += 0.2
        time.sleep(max(0.0, due - time.monotonic()))
    emitter.emit("done", {}, to=room)
    result = collect(procs, 120)
    result["elapsed_s"] = time.monotonic() - started
    result["web_cpu_s"] = cpu_seconds(pid) - cpu_before
    result["web_rss_mb"] = memory_mb(pid, "VmHWM")
    result["published"] = ticks * 4
    result["sockets"] = sockets
    return result


def have_peer() -> bool:
    try:
        import flask_socketio  # noqa: F401
    except ImportError:
        return False
    return True


def peer_figures(label: str, spool: dict, peer_runs: list[dict], us_target: float) -> list[Figure]:
    """Spool's figures beside Flask-SocketIO's under the same load, when the peer is installed."""
    if not peer_runs:
        return [Figure(f"peer {label}", float("nan"), "", note="Flask-SocketIO is not installed")]
    theirs = summary(peer_runs)
    return [
        Figure(
            f"vs Flask-SocketIO, {label}: median p99",
            spool["p99"],
            "ms",
            theirs["p99"],
            "Flask-SocketIO",
            "≤ Flask-SocketIO's",
            spool["p99"] <= theirs["p99"],
            f"peer {spread(theirs, 'p99')}; peer {spread(theirs, 'p50')}; peer least-served socket "
            f"{theirs['worst_share'] * 100:.0f} %; peer clients {limit(theirs)}",
        ),
        Figure(
            f"vs Flask-SocketIO, {label}: web CPU per delivered message",
            spool["web_us_per_msg"],
            "µs",
            theirs["web_us_per_msg"],
            "Flask-SocketIO",
            f"≤ {us_target:g} µs",
            spool["web_us_per_msg"] <= us_target,
        ),
        Figure(f"vs Flask-SocketIO, {label}: web RSS", spool["rss"], "MB", theirs["rss"], "Flask-SocketIO"),
    ]
