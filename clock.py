"""Start the clock: `python clock.py` runs RQ's cron scheduler on jobs/schedule.py.

`rq cron --url` would do the same, but it builds its connection from the URL alone, so it
knows neither Sentinel nor REDIS_CA_FILE, and it exits when Redis is away; this waits for
Redis with backoff (saying why in one line), over the same connection as the web and workers.
"""

import logging
import sys
import time
from pathlib import Path

import redis
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from jobs.core.connection import connect, wait_until_reachable

SCHEDULE = Path(__file__).with_name("jobs") / "schedule.py"
log = logging.getLogger("spool.clock")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    connection = connect()
    scheduler = CronScheduler(connection=connection, logging_level="INFO")
    scheduler.load_config_from_file(str(SCHEDULE))  # once: the file registers its entries on import
    while True:
        wait_until_reachable(connection, log)
        try:
            scheduler.start()  # returns on SIGTERM or SIGINT
            return
        except redis.ConnectionError as exc:  # a failover or a restart: start again once it answers
            log.warning("clock lost Redis: %s", exc)
            time.sleep(1)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, StopRequested):  # a signal while waiting for Redis
        sys.exit(0)
