"""Redis connections from a URL: redis://, rediss:// (TLS) or redis+sentinel://.

connection = connect()            # settings.redis_url
"""

from __future__ import annotations

import redis
from redis.driver_info import DriverInfo
from redis.sentinel import Sentinel

from jobs.core.config import settings

_DRIVER_INFO = DriverInfo()


def connect(url: str | None = None, *, pool_wait: float = 0, **kwargs) -> redis.Redis:
    """Open a Redis client for a redis://, rediss:// or redis+sentinel:// URL.

    A Sentinel URL names the sentinels and the service:
    ``redis+sentinel://host1:26379,host2:26379/mymaster/0``. With `pool_wait` seconds, a
    caller finding all `max_connections` in use waits that long for one instead of failing
    at once with "Too many connections" (not for Sentinel, whose pool cannot wait).
    """
    url = url or settings.redis_url
    kwargs.setdefault("health_check_interval", 30)
    kwargs.setdefault("socket_keepalive", True)
    kwargs.setdefault("retry_on_timeout", True)
    # Made once: without it every new connection reads redis-py's version from its package
    # metadata on disk (about a millisecond), and each work horse opens a new connection.
    kwargs.setdefault("driver_info", _DRIVER_INFO)
    if url.startswith("redis+sentinel://"):
        hosts, _, rest = url.removeprefix("redis+sentinel://").partition("/")
        service, _, db = rest.partition("/")
        nodes = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1]) if ":" in h else 26379) for h in hosts.split(",")]
        return Sentinel(nodes).master_for(service or "mymaster", db=int(db or 0), **kwargs)
    if pool_wait:
        return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url, timeout=pool_wait, **kwargs))
    return redis.Redis.from_url(url, **kwargs)
