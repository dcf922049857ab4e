"""gunicorn settings for the web process (`gunicorn -c gunicorn.conf.py "webapp:create_app()"`).

gevent workers: each open WebSocket is a greenlet, not a thread, so one process holds
thousands of them; each process keeps one Redis subscription for all of its sockets.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "2000"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
control_socket_disable = True  # several web servers may share a machine (tests, bench)


def post_worker_init(worker):
    """On SIGTERM, also close this process's WebSockets, so browsers reconnect to another one.

    gunicorn's graceful shutdown waits for open requests, and a socket stays open for as
    long as its job runs: without this, a deploy would hold every socket until the graceful
    timeout and then cut them off.
    """
    import gc
    import signal

    import gevent

    from webapp.hub import close_all_sockets

    # The app is loaded by now: move its modules' objects out of the collector's reach, so a
    # full collection walks only what requests make (it took 50 ms, stalling every request).
    gc.freeze()
    # A full collection also walks every open socket's objects: 250 ms at 1,000 sockets, every
    # event to every socket held back meanwhile. What events and requests make is freed by the
    # young generations, so a full collection waits for a thousand of theirs, not Python's ten.
    gc.set_threshold(700, 10, 1000)

    stop = worker.handle_exit

    def handle_exit(sig, frame):
        stop(sig, frame)
        gevent.spawn(close_all_sockets)  # not in the signal handler: it takes locks

    signal.signal(signal.SIGTERM, handle_exit)
    # Say at start, in one line, why Redis cannot be used (a wrong password, an untrusted
    # certificate, no sentinel), and keep trying with backoff: the process serves /healthz
    # meanwhile and answers 503 where it needs Redis, rather than exiting to be restarted.
    import logging

    from jobs.core.connection import wait_until_reachable

    # Only for Spool's app: the socket benchmark's peer is served with this file too.
    spool = getattr(worker.wsgi, "extensions", {}).get("spool")
    if spool is not None:
        gevent.spawn(wait_until_reachable, spool["redis"], logging.getLogger("spool.web"))
