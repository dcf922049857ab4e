"""The peer to beat, run only by the live benchmark: Flask-SocketIO on gevent-websocket with
a Redis message queue, where whoever emits to a job's room reaches its sockets.

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 bench.socketio_peer:app
"""

import os

from flask import Flask
from flask_socketio import SocketIO, join_room

app = Flask(__name__)
socketio = SocketIO(app, message_queue=os.environ["REDIS_URL"], async_mode="gevent")


@socketio.on("watch")
def watch(job_id: str) -> str:
    """Join the room of a job's events."""
    join_room(job_id)
    return "ok"
