"""Start a Spool worker: `python worker.py [queue ...]` (default: $QUEUES).

Imports the whole catalogue (and preloads what its jobs need) before forking, so every
work horse inherits it, then runs RQ's forking worker with the JSON serializer.
"""

import logging
import sys
import time

import redis

from jobs import catalogue
from jobs.runtime import SpoolWorker, queue
from jobs.settings import connect, settings

log = logging.getLogger("spool.worker")


def wait_for_redis(connection, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            log.warning("waiting for Redis at %s", settings.redis_url)
            time.sleep(0.5)


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    catalogue.load()
    connection = connect()
    wait_for_redis(connection)
    names = argv or list(settings.queues)
    worker = SpoolWorker([queue(n, connection) for n in names], connection=connection)
    worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
