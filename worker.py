"""Start a Spool worker: `python worker.py [queue ...]` (default: $QUEUES).

Imports the whole catalogue (and preloads what its jobs need) before forking, so every
work horse inherits it, then runs RQ's forking worker with the JSON serializer.
"""

import gc
import logging
import sys
import time

import redis
from rq.exceptions import StopRequested

from jobs.core import catalogue, tracing
from jobs.core.config import settings
from jobs.core.connection import connect, wait_until_reachable
from jobs.core.queue import queue
from jobs.core.worker import SpoolWorker

log = logging.getLogger("spool.worker")


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    tracing.start("spool-worker")  # before any fork: every work horse inherits the provider
    catalogue.load()
    connection = connect()
    wait_until_reachable(connection, log)
    names = argv or list(settings.queues)
    catalogue.preload(names)  # once, before forking: every work horse inherits what it loads
    # Move everything loaded so far out of the collector's reach: a work horse's collections
    # would otherwise walk the model's objects and copy every page they touch (60 ms a job).
    gc.freeze()
    while True:
        worker = SpoolWorker([queue(n, connection) for n in names], connection=connection)
        try:
            worker.work(with_scheduler=True)
        except redis.ConnectionError as exc:  # RQ's teardown needs Redis too
            log.warning("worker %s ended without Redis: %s", worker.name, exc)
            if worker.pubsub_thread:
                worker.pubsub_thread.stop()
        if worker.shutdown_requested:
            return
        # RQ's loop gives up on an error between jobs (Redis gone, say); a deploy expects the
        # worker to carry on by itself, so start a fresh one once Redis answers (not in a tight loop).
        try:
            time.sleep(1)
            wait_until_reachable(connection, log)
        except StopRequested:  # SIGTERM meanwhile: RQ's handler is still installed
            return
        log.warning("starting a new worker")


if __name__ == "__main__":
    main(sys.argv[1:])
