"""The live progress socket: GET /ws/jobs/<id>.

Sends a snapshot, then progress/log/status events in `seq` order, then a final snapshot
on a terminal status, and closes. Ownership and Origin are checked before the upgrade.
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, current_app, request
from flask_sock import Sock
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from simple_websocket import ConnectionClosed

from jobs.core import status
from webapp import repository, snapshots
from webapp.auth import check_origin
from webapp.hub import GONE, Hub
from webapp.identity import current_owner

bp = Blueprint("ws", __name__)
sock = Sock()
IDLE_CHECK = 5.0
SERVICE_RESTART = 1012  # the WebSocket close code for "the server is restarting"


def init_app(app: Flask) -> None:
    app.extensions["spool"]["hub"] = Hub(app.extensions["spool"]["redis"])
    app.register_blueprint(bp)
    sock.init_app(app)


@bp.before_request
def _guard():
    check_origin()
    repository.get(request.view_args["job_id"], current_owner() or "")
    # Decline permessage-deflate, which browsers offer: the messages are a few hundred bytes,
    # a compressor per socket cost 130 KB each (240 MB for 1,000 sockets), and uncompressed,
    # one frame built once serves every socket watching a job.
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


def _send(ws, message: dict) -> None:
    ws.send(json.dumps(message, separators=(",", ":"), default=str))


def _write(ws, frames: bytes) -> None:
    """Write ready-made frames straight to the socket, past the per-message encoding."""
    if not ws.connected:
        raise ConnectionClosed()
    try:
        ws.sock.sendall(frames)
    except OSError:
        raise ConnectionClosed() from None


def _snapshot(job_id: str) -> dict:
    job = repository.fetch(job_id)
    if job is None:
        raise NoSuchJobError(job_id)
    snapshot = snapshots.snapshot(job)
    return {**snapshot, "type": "snapshot", "job_type": snapshot["type"]}


@sock.route("/ws/jobs/<job_id>", bp=bp)
def job_events(ws, job_id: str):
    """Stream a job's progress to its owner."""
    hub: Hub = current_app.extensions["spool"]["hub"]
    watcher = hub.watch(job_id)  # before the snapshot, so nothing falls between them
    try:
        _stream(ws, job_id, watcher)
    except NoSuchJobError:  # expired or deleted while watched: nothing more will come
        pass
    finally:
        hub.unwatch(watcher)


def _stream(ws, job_id: str, watcher) -> None:
    snapshot = _snapshot(job_id)
    _send(ws, snapshot)
    last_seq = snapshot["seq"]
    if snapshot["status"] in status.TERMINAL:
        return
    while ws.connected:
        delivery = watcher.get(timeout=IDLE_CHECK)
        final = False
        # Events that queued up meanwhile go out together, in one write of ready-made frames.
        frames = []
        retried = False
        while delivery is not None and delivery.kind == "event":
            if delivery.seq > last_seq:
                frames.append(delivery.frame)
                last_seq = delivery.seq
                new_status = delivery.event.get("status") if delivery.event["type"] == "status" else None
                final = new_status in status.TERMINAL
                # Only a retry sends a started job back to waiting: the page needs the attempt number.
                retried = retried or new_status in status.WAITING
                if final:
                    break
            delivery = watcher.get_nowait()
        if frames:
            _write(ws, b"".join(frames))
        if final:
            _send(ws, _snapshot(job_id))
            return
        if retried:
            _send(ws, _snapshot(job_id))
        if delivery is None:
            continue
        if delivery.kind == "check" and delivery.event["status"] == GONE:
            return
        elif delivery.kind == "close":  # this process is going away; the client reconnects elsewhere
            ws.close(reason=SERVICE_RESTART, message="The server is restarting; reconnect.")
            return
        else:  # a status check found it over, or events may have been missed
            try:
                snapshot = _snapshot(job_id)
            except RedisError:  # Redis is away: the hub resyncs every socket when it is back
                continue
            final = snapshot["status"] in status.TERMINAL
            if snapshot["seq"] > last_seq or final:
                _send(ws, snapshot)
                last_seq = snapshot["seq"]
                if final:
                    return
