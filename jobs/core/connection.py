"""Redis connections from a URL: redis://, rediss:// (TLS), redis+sentinel:// or rediss+sentinel://.

    connection = connect()                        # settings.redis_url
    wait_until_reachable(connection, log)         # at start: one clear line, then backoff

A Sentinel URL names the sentinels, the service and the database; its user and password are
those of the Redis servers behind them (the sentinels are asked with SENTINEL_PASSWORD, if
set). `rediss+sentinel://` speaks TLS to the sentinels and to the servers alike. Every TLS
connection checks the server's certificate against REDIS_CA_FILE when it is set (else the
system's CAs).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.connection import SSLConnection
from redis.driver_info import DriverInfo
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelManagedConnection

from jobs.core.config import settings

_DRIVER_INFO = DriverInfo()
SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")


def connect(url: str | None = None, *, pool_wait: float = 0, **kwargs) -> redis.Redis:
    """Open a Redis client for a redis://, rediss://, redis+sentinel:// or rediss+sentinel:// URL.

    A Sentinel URL: ``redis+sentinel://user:pass@host1:26379,host2:26379/mymaster/0``. With
    `pool_wait` seconds, a caller finding all `max_connections` in use waits that long for one
    instead of failing at once with "Too many connections" (not for Sentinel, whose pool
    cannot wait).
    """
    url = url or settings.redis_url
    kwargs.setdefault("health_check_interval", 30)
    kwargs.setdefault("socket_keepalive", True)
    kwargs.setdefault("retry_on_timeout", True)
    # Made once: without it every new connection reads redis-py's version from its package
    # metadata on disk (about a millisecond), and each work horse opens a new connection.
    kwargs.setdefault("driver_info", _DRIVER_INFO)
    if url.startswith(SENTINEL_SCHEMES):
        return _sentinel(url, **kwargs)
    if url.startswith("rediss://") and settings.redis_ca_file:
        kwargs.setdefault("ssl_ca_certs", settings.redis_ca_file)
    if pool_wait:
        return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url, timeout=pool_wait, **kwargs))
    return redis.Redis.from_url(url, **kwargs)


class _SentinelConnection(SentinelManagedConnection):
    """redis-py's Sentinel connection, made to drop itself when a read is interrupted, as its
    plain connection does.

    Its own keeps the connection when an exception breaks off a read (RQ's warm shutdown
    raises from a signal handler while a worker waits in BLPOP; a job timeout does the same in
    a work horse), so the next command on it reads the interrupted one's reply.
    """

    def read_response(self, *args, disconnect_on_error: bool = True, **kwargs):
        return super().read_response(*args, disconnect_on_error=disconnect_on_error, **kwargs)


class _SentinelSSLConnection(_SentinelConnection, SSLConnection):
    pass


def _sentinel(url: str, **kwargs) -> redis.Redis:
    scheme, rest = url.split("://", 1)
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    service, _, db = path.partition("/")
    nodes = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1]) if ":" in h else 26379) for h in hosts.split(",")]
    if userinfo:
        user, _, password = userinfo.partition(":")
        kwargs.setdefault("username", unquote(user) or None)
        kwargs.setdefault("password", unquote(password) or None)
    tls = {"ssl": True, "ssl_ca_certs": settings.redis_ca_file or None} if scheme == "rediss+sentinel" else {}
    # One try per sentinel: asking the next one is the retry (redis-py's default of three tries
    # with backoff, per sentinel, would take half a minute to say that none answers).
    sentinel_kwargs = {"socket_timeout": 2, "retry": Retry(NoBackoff(), 0), **tls}
    sentinel_kwargs["password"] = settings.sentinel_password or None
    kwargs["connection_class"] = _SentinelSSLConnection if tls else _SentinelConnection
    return Sentinel(nodes, sentinel_kwargs=sentinel_kwargs).master_for(
        service or "mymaster", db=int(db or 0), **tls, **kwargs
    )


def redacted(url: str) -> str:
    """The URL with its password replaced by `***`, fit for a log line."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{hosts}"))


def wait_until_reachable(
    connection: redis.Redis, log: logging.Logger, *, first: float = 0.5, longest: float = 30.0
) -> None:
    """Return once Redis answers a PING, retrying with a doubling pause up to `longest` seconds.

    The first failure is said in one line naming the URL and the reason (a wrong password, an
    untrusted certificate, no sentinel answering); each later attempt in a shorter one, with
    its number and the pause before the next. A process started before Redis, or against a
    wrong setting, waits for it to be fixed instead of exiting for a supervisor to restart in
    a tight loop.
    """
    pause, attempt = first, 1
    while True:
        try:
            connection.ping()
            if attempt > 1:
                log.warning("Redis at %s answers now (attempt %d)", redacted(settings.redis_url), attempt)
            return
        except RedisError as exc:
            if attempt == 1:
                log.error(
                    "cannot use Redis at %s: %s; retrying with backoff",
                    redacted(settings.redis_url),
                    why(connection, exc),
                )
            else:
                log.warning(
                    "Redis still unreachable (attempt %d: %s); next attempt in %.1fs",
                    attempt,
                    why(connection, exc),
                    pause,
                )
        time.sleep(pause)
        pause, attempt = min(pause * 2, longest), attempt + 1


def why(connection: redis.Redis, exc: RedisError) -> str:
    """What went wrong, in words: for Sentinel, what each sentinel said (redis-py's own message
    is the list of its clients' reprs, without the reason)."""
    manager = getattr(connection.connection_pool, "sentinel_manager", None)
    if not isinstance(exc, MasterNotFoundError) or manager is None:
        return f"{type(exc).__name__}: {exc}"
    said = []
    for sentinel in manager.sentinels:
        where = "{host}:{port}".format(**sentinel.connection_pool.connection_kwargs)
        try:
            sentinel.ping()
            said.append(f"{where} answers but names no primary for the service")
        except RedisError as error:
            said.append(f"{where}: {error}")
    return "no sentinel names a primary (" + "; ".join(said) + ")"
