"""The live progress socket: GET /ws/jobs/<id>.

Sends a snapshot, then progress/log/status events in `seq` order, then a final snapshot
on a terminal status, and closes; a job that disappears (deleted, expired) gets a last
message {"type": "gone", "message": ...} instead. Ownership, Origin and the caps on sockets per owner and per
address (webapp.sockets) are checked before the upgrade. The protocol is server to client
only: a client that sends anything is closed with 1008.
"""

from __future__ import annotations

import json

import gevent.socket
from flask import Blueprint, Flask, current_app, g, request
from flask_sock import Sock
from gevent import monkey
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from simple_websocket import ConnectionClosed

from jobs.core import status
from webapp import repository, snapshots
from webapp.auth import check_origin
from webapp.errors import error_response
from webapp.hub import Hub
from webapp.identity import current_owner
from webapp.proxies import client_address
from webapp.sockets import Ledger
from webapp.watchers import GONE, Delivery, frame

bp = Blueprint("ws", __name__)
sock = Sock()
SERVICE_RESTART = 1012  # the WebSocket close code for "the server is restarting"
POLICY_VIOLATION = 1008
GONE_MESSAGE = {"type": "gone", "message": "This job no longer exists: it was deleted or has expired."}
# How long a client over its cap is asked to wait: about as long as a page takes to be closed.
RETRY_AFTER = 30


def init_app(app: Flask) -> None:
    connection = app.extensions["spool"]["redis"]
    ledger = Ledger(connection, app.config["MAX_SOCKETS_PER_OWNER"], app.config["MAX_SOCKETS_PER_ADDRESS"])
    app.extensions["spool"].update(ledger=ledger, hub=Hub(connection, ledger))
    app.register_blueprint(bp)
    sock.init_app(app)


@bp.before_request
def _guard():
    check_origin()
    owner = current_owner() or ""
    repository.get(request.view_args["job_id"], owner)
    address = client_address()
    cap = current_app.extensions["spool"]["ledger"].admit(owner, address)
    if cap is not None:
        limit = current_app.config["MAX_SOCKETS_PER_OWNER" if cap == "owner" else "MAX_SOCKETS_PER_ADDRESS"]
        whose = "you have" if cap == "owner" else "your address has"
        body, code = error_response(
            429, f"Too many live progress connections: {whose} {limit} open; close some pages.", code="too_many_sockets"
        )
        return body, code, {"Retry-After": str(RETRY_AFTER)}
    g.spool_socket = (owner, address)
    # Decline permessage-deflate, which browsers offer: the messages are a few hundred bytes,
    # a compressor per socket cost 130 KB each (240 MB for 1,000 sockets), and uncompressed,
    # one frame built once serves every socket watching a job.
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


@bp.teardown_request
def _release(exc):
    # Runs once the socket has ended (flask-sock runs the whole socket inside the view).
    admitted = g.pop("spool_socket", None)
    if admitted is not None:
        current_app.extensions["spool"]["ledger"].release(*admitted)


class _RefusingBuffer(list):
    """Stands in for simple_websocket's input buffer, which keeps every message a client
    sends until the handler reads it, and this handler never reads: the protocol is server to
    client only. simple_websocket has no hook per message, and a reader greenlet of ours would
    drain the buffer only when scheduled (a flood of frames need not yield), so the message is
    dropped as it arrives and the handler is woken to close the socket.
    """

    def __init__(self, watcher):
        super().__init__()
        self.watcher = watcher
        self.refused = False

    def append(self, message) -> None:
        if not self.refused:
            self.refused = True
            self.watcher.put(Delivery("refused"))


def _refuse_client_data(ws, watcher) -> None:
    early = ws.input_buffer
    ws.input_buffer = _RefusingBuffer(watcher)
    if early:  # sent before the buffer was swapped
        watcher.put(Delivery("refused"))


def _wake_on_close(ws, watcher) -> None:
    """Have the socket's reader wake the handler when the client goes, as it wakes receive().

    simple_websocket sets `ws.event` when the connection ends (receive() waits on it, and this
    handler never calls receive()); made the watcher's, it ends the handler's wait at once. A
    wait with a timeout instead would cost a timer made and dropped per socket and per event.
    """
    ws.event = watcher.ready


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


def _shared_snapshot(delivery: Delivery, job_id: str) -> tuple[dict, bytes]:
    """The job's snapshot with its frame, read once for every socket given this delivery."""

    def build():
        snapshot = _snapshot(job_id)
        return snapshot, frame(json.dumps(snapshot, separators=(",", ":"), default=str))

    return delivery.shared(build)


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
    _refuse_client_data(ws, watcher)
    _wake_on_close(ws, watcher)
    try:
        _stream(ws, job_id, watcher)
    except NoSuchJobError:  # expired or deleted while watched: nothing more will come
        _send(ws, GONE_MESSAGE)
    finally:
        hub.unwatch(watcher)


def _raw_socket(ws):
    """The socket under gevent's, which the hub may write to without blocking (Watcher.write_now);
    None where the hub runs in a thread of its own, or the socket is TLS."""
    if type(ws.sock) is gevent.socket.socket and monkey.is_module_patched("socket"):
        return ws.sock._sock
    return None


def _stream(ws, job_id: str, watcher) -> None:
    snapshot = _snapshot(job_id)
    _send(ws, snapshot)
    watcher.place = snapshot["queue_position"]
    watcher.last_seq = snapshot["seq"]
    if snapshot["status"] in status.TERMINAL:
        return
    sink = _raw_socket(ws)
    while ws.connected:
        delivery = watcher.get_nowait()
        if delivery is None:
            watcher.sink = sink  # nothing left to write: the hub may write events itself meanwhile
            delivery = watcher.get()
            watcher.sink = None
        final = None
        # Events that queued up meanwhile go out together, in one write of ready-made frames.
        frames = []
        retried = False
        while delivery is not None and delivery.kind in ("event", "rest"):
            if delivery.kind == "rest":  # the rest of what the hub wrote: its seq is counted
                frames.append(delivery.data)
            elif delivery.seq > watcher.last_seq:
                frames.append(delivery.frame)
                watcher.last_seq = delivery.seq
                new_status = delivery.event.get("status") if delivery.event["type"] == "status" else None
                # Only a retry sends a started job back to waiting: the page needs the attempt number.
                retried = retried or new_status in status.WAITING
                if new_status in status.TERMINAL:
                    final = delivery
                    break
            delivery = watcher.get_nowait()
        if frames:
            _write(ws, b"".join(frames))
        if final is not None:
            # Written after the events, not with them: they need not wait for its read.
            _write(ws, _shared_snapshot(final, job_id)[1])
            return
        if retried:
            _send(ws, _snapshot(job_id))
        if delivery is None:
            continue
        if delivery.kind == "check" and delivery.event["status"] == GONE:
            _send(ws, GONE_MESSAGE)
            return
        elif delivery.kind == "close":  # this process is going away; the client reconnects elsewhere
            ws.close(reason=SERVICE_RESTART, message="The server is restarting; reconnect.")
            return
        elif delivery.kind in (
            "stalled",
            "moved",
        ):  # no event says so (a dead worker, a place in line): the snapshot does
            _send(ws, _snapshot(job_id))
        elif delivery.kind == "refused":
            ws.close(reason=POLICY_VIOLATION, message="This socket only sends; a client must not send data.")
            return
        else:  # a status check found it over, or events may have been missed
            try:
                # A check is one delivery for all the job's sockets, and what it found is final.
                snapshot, snapshot_frame = (
                    _shared_snapshot(delivery, job_id) if delivery.kind == "check" else (_snapshot(job_id), None)
                )
            except RedisError:  # Redis is away: the hub resyncs every socket when it is back
                continue
            ended = snapshot["status"] in status.TERMINAL
            if snapshot["seq"] > watcher.last_seq or ended:
                if snapshot_frame is None:
                    _send(ws, snapshot)
                else:
                    _write(ws, snapshot_frame)
                watcher.last_seq = snapshot["seq"]
                if ended:
                    return
