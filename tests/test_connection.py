"""How Spool reads a Redis URL: Sentinel forms, TLS with a CA file, and passwords kept out of logs."""

from __future__ import annotations

import dataclasses

import pytest
from redis.connection import SSLConnection
from redis.sentinel import SentinelManagedConnection

from jobs.core import connection as module
from jobs.core.connection import connect, redacted


@pytest.fixture
def ca_file(monkeypatch, tmp_path):
    path = tmp_path / "ca.pem"
    monkeypatch.setattr(module, "settings", dataclasses.replace(module.settings, redis_ca_file=str(path)))
    return str(path)


def test_a_sentinel_url_names_the_sentinels_service_database_and_the_servers_credentials():
    client = connect("redis+sentinel://spool:p%40ss@h1:26379,h2:26380,h3/cache/2")
    pool = client.connection_pool
    assert pool.service_name == "cache"
    assert [s.connection_pool.connection_kwargs["host"] for s in pool.sentinel_manager.sentinels] == ["h1", "h2", "h3"]
    assert [s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels] == [
        26379,
        26380,
        26379,
    ]
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("spool", "p@ss", 2)


def test_rediss_sentinel_speaks_tls_to_sentinels_and_servers_trusting_the_ca_file(ca_file):
    pool = connect("rediss+sentinel://spool:pw@h1:26379/mymaster/0").connection_pool
    assert issubclass(pool.connection_class, SentinelManagedConnection)
    assert issubclass(pool.connection_class, SSLConnection)
    assert pool.connection_kwargs["ssl_ca_certs"] == ca_file
    sentinel = pool.sentinel_manager.sentinels[0].connection_pool
    assert sentinel.connection_class.__name__ == "SSLConnection"
    assert sentinel.connection_kwargs["ssl_ca_certs"] == ca_file


def test_rediss_trusts_the_ca_file(ca_file):
    assert connect("rediss://spool:pw@h1:6379/0").connection_pool.connection_kwargs["ssl_ca_certs"] == ca_file


@pytest.mark.parametrize(
    "url, shown",
    [
        ("rediss://spool:secret@h1:6379/0", "rediss://spool:***@h1:6379/0"),
        ("redis+sentinel://:secret@h1:26379,h2:26379/m/0", "redis+sentinel://:***@h1:26379,h2:26379/m/0"),
        ("redis://h1:6379/0", "redis://h1:6379/0"),
    ],
)
def test_a_logged_url_hides_its_password(url, shown):
    assert redacted(url) == shown
