"""Spool on test hosts: Redis with TLS, a replica and three Sentinels, two web hosts behind
haproxy, worker hosts, a clock, a slow web server and a client host.

    with Cluster(workers=4) as cluster:           # this thread now speaks from the client host
        client = cluster.client()                 # HTTP and WebSocket, through haproxy only
        cluster.observer().info("replication")    # Redis, as an operator would look at it
        cluster.host_of(pid)                      # which host a worker or work horse runs on

Every process of Spool runs as the Procfile runs it, with REDIS_URL naming the sentinels
(rediss+sentinel://) and REDIS_CA_FILE the run's own CA. Leaving the `with` block stops
every process and removes every namespace and link, whatever happened inside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import redis as redis_py

from scale.hosts import Host, Network, Process, wait_until
from scale.redis_hosts import (
    PASSWORD,
    PLAIN_PORT,
    SENTINEL_PORT,
    SERVICE,
    TLS_PORT,
    USER,
    Tls,
    binary,
    start_redis,
    start_sentinel,
)
from scale.tls import Authority

ROOT = Path(__file__).resolve().parent.parent
WEB_PORT, LB_PORT, SLOW_PORT = 5000, 80, 8000
# A heartbeat every second, lapsing two seconds after a missed one, looked for every second: a
# job whose host is cut off is noticed in seconds (see Settings in jobs/core/config.py).
FAST = {"JOB_MONITORING_INTERVAL": "1", "HEARTBEAT_GRACE": "2", "MAINTENANCE_INTERVAL": "1", "WORKER_TTL": "16"}

HAPROXY = """\
global
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option forwardfor
frontend spool
    bind 0.0.0.0:{lb_port}
    default_backend webs
backend webs
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    # Down after two missed checks half a second apart; its open sockets are cut, so their
    # clients reconnect, and land on a web host that is up.
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
    # Which web host answered: tests and benchmarks tell the two apart by it.
    http-response set-header X-Spool-Web %s
{servers}
"""


class Cluster:
    def __init__(self, workers: int = 4, slow_delay: float = 0.25, env: dict | None = None):
        self.worker_count, self.slow_delay, self.extra_env = workers, slow_delay, env or {}
        self.network: Network | None = None
        self._inside = None

    def __enter__(self) -> Cluster:
        try:
            self._build()
        except BaseException as exc:
            exc.add_note(self.exited())
            self.close()
            raise
        return self

    def exited(self) -> str:
        """The last lines of every process that has exited: what to read when the build fails."""
        hosts = self.network.hosts.values() if self.network else ()
        dead = [p for h in hosts for p in h.processes if not p.alive()]
        return "\n".join(f"-- {p.host.name} {p.name} exited:\n{p.output()[-2000:]}" for p in dead) or "nothing exited"

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._inside is not None:
            self._inside.__exit__(None, None, None)
            self._inside = None
        if self.network is not None:
            self.network.close()
            self.network = None

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.network = network = Network()
        self.var = network.var
        names = ["redis1", "redis2", "sentinel3", "lb", "web1", "web2", "clock", "client", "slow"]
        names += [f"worker{i}" for i in range(1, self.worker_count + 1)]
        self.hosts: dict[str, Host] = {name: network.host(name) for name in names}
        self._inside = self.hosts["client"].inside()
        self._inside.__enter__()

        self.ca = Authority(self.var, "spool-scale")
        self.rogue_ca = Authority(self.var, "someone-else")  # signs nothing Spool should trust
        redis_addresses = [self.address(n) for n in ("redis1", "redis2", "sentinel3")]
        self.tls = Tls(*self.ca.issue("redis", redis_addresses), self.ca.cert)
        self.redis = {"redis1": start_redis(self.hosts["redis1"], self.var, self.tls)}
        self.redis["redis2"] = start_redis(self.hosts["redis2"], self.var, self.tls, replica_of=self.address("redis1"))
        self.sentinels = [
            start_sentinel(self.hosts[n], self.var, self.tls, self.address("redis1"))
            for n in ("redis1", "redis2", "sentinel3")
        ]
        self.wait_replicated()
        wait_until(self._sentinels_agree, 30, "the sentinels to find each other and the replica")

        self.hosts["slow"].run(
            [sys.executable, "-m", "scale.slow", str(SLOW_PORT), str(self.slow_delay)], "slow", cwd=ROOT
        )
        self.webs = {n: self.start_web(n) for n in ("web1", "web2")}
        self.start_haproxy()
        self.workers = {f"worker{i}": self.start_worker(f"worker{i}") for i in range(1, self.worker_count + 1)}
        self.clock = self.start_clock()
        wait_until(lambda: all(self.web_up(n) for n in self.webs), 60, "both web hosts to answer")
        self.wait_balanced()
        self.wait_workers(self.workers.values())

    def address(self, host: str) -> str:
        return self.hosts[host].address

    @property
    def sentinel_url(self) -> str:
        nodes = ",".join(f"{self.address(n)}:{SENTINEL_PORT}" for n in ("redis1", "redis2", "sentinel3"))
        return f"rediss+sentinel://{USER}:{PASSWORD}@{nodes}/{SERVICE}/0"

    def direct_url(self, tls: bool = True, host: str = "redis1") -> str:
        scheme, port = ("rediss", TLS_PORT) if tls else ("redis", PLAIN_PORT)
        return f"{scheme}://{USER}:{PASSWORD}@{self.address(host)}:{port}/0"

    def env(self, **overrides: str) -> dict:
        """The environment of Spool's processes on these hosts (plus `overrides`)."""
        env = {
            "REDIS_URL": self.sentinel_url,
            "REDIS_CA_FILE": str(self.ca.cert),
            "SECRET_KEY": "scale-secret-key",
            "QUEUES": "default",
            "SPOOL_ALLOW_PRIVATE_URLS": "1",  # the slow server is on this private network
            "SPOOL_VAR": str(self.var),
            "MAX_RUNNING_PER_OWNER": "0",
            "MAX_WAITING_PER_OWNER": "0",
            "MAX_NEW_OWNERS_PER_IP": "0",
            "FORWARDED_ALLOW_IPS": self.address("lb"),
            "PYTHONUNBUFFERED": "1",
            **FAST,
            **self.extra_env,
        }
        return {**env, **overrides}

    def start_web(self, host: str, **env: str) -> Process:
        argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "webapp:create_app()"]
        environment = self.env(**{"HOST": "0.0.0.0", "PORT": str(WEB_PORT), "WEB_CONCURRENCY": "1", **env})
        return self.hosts[host].run(argv, "web", environment, cwd=ROOT)

    def start_worker(self, host: str, **env: str) -> Process:
        return self.hosts[host].run([sys.executable, "worker.py"], "worker", self.env(**env), cwd=ROOT)

    def start_clock(self, host: str = "clock", **env: str) -> Process:
        return self.hosts[host].run([sys.executable, "clock.py"], "clock", self.env(**env), cwd=ROOT)

    def start_haproxy(self) -> Process:
        servers = "\n".join(f"    server {n} {self.address(n)}:{WEB_PORT} check" for n in ("web1", "web2"))
        config = self.var / "haproxy.cfg"
        config.write_text(HAPROXY.format(lb_port=LB_PORT, servers=servers))
        self.haproxy = self.hosts["lb"].run([binary("haproxy"), "-f", str(config), "-db"], "haproxy")
        return self.haproxy

    # -- looking ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.address('lb')}:{LB_PORT}"

    def client(self):
        from scale.client import Client

        return Client(self.base_url)

    def observer(self, url: str | None = None) -> redis_py.Redis:
        """A Redis client from the client host, through the sentinels unless given a URL."""
        if url is None:
            return _sentinel_client(self)
        return redis_py.Redis.from_url(url, **({"ssl_ca_certs": str(self.ca.cert)} if url.startswith("rediss") else {}))

    def host_of(self, pid: int) -> str | None:
        """The host a process runs on, a work horse (a worker's child) included."""
        for name, host in self.hosts.items():
            if any(p == pid for p in _pids_in(host)):
                return name
        return None

    def web_up(self, host: str) -> bool:
        import requests

        try:
            return requests.get(f"http://{self.address(host)}:{WEB_PORT}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    def wait_balanced(self, timeout: float = 60) -> None:
        """Wait until haproxy sends requests to both web hosts again (after a restart, say)."""
        import requests

        seen = set()

        def both():
            try:
                seen.add(requests.get(f"{self.base_url}/healthz", timeout=2).headers.get("X-Spool-Web"))
            except requests.RequestException:
                pass
            return {"web1", "web2"} <= seen

        wait_until(both, timeout, "haproxy to balance over both web hosts", interval=0.2)

    def wait_workers(self, workers, timeout: float = 60) -> None:
        """Wait until each of these worker processes has registered with Redis."""
        from rq import Worker

        connection = self.observer()
        wanted = {w.pid for w in workers}

        def registered():
            for w in workers:
                if not w.alive():
                    raise RuntimeError(f"a worker on {w.host.name} exited:\n{w.output()}")
            return wanted <= {w.pid for w in Worker.all(connection=connection)}

        wait_until(registered, timeout, "the workers to register")

    def wait_replicated(self, primary: str = "redis1") -> None:
        connection = redis_py.Redis(
            self.address(primary), TLS_PORT, username=USER, password=PASSWORD, ssl=True, ssl_ca_certs=str(self.ca.cert)
        )

        def replicated():
            try:
                return connection.info("replication").get("connected_slaves", 0) >= 1
            except redis_py.RedisError:
                return False

        wait_until(replicated, 30, f"a replica of {primary}")
        connection.close()

    def _sentinels_agree(self) -> bool:
        for host in ("redis1", "redis2", "sentinel3"):
            try:
                sentinel = redis_py.Redis(
                    self.address(host), SENTINEL_PORT, ssl=True, ssl_ca_certs=str(self.ca.cert), socket_timeout=1
                )
                master = sentinel.sentinel_master(SERVICE)
                sentinel.close()
            except redis_py.RedisError:
                return False
            if master.get("num-other-sentinels", 0) < 2 or master.get("num-slaves", 0) < 1:
                return False
        return True

    def primary(self) -> str:
        """The host the sentinels name as primary now."""
        address = _sentinel_client(self).connection_pool.get_master_address()[0]
        return next(n for n in self.hosts if self.address(n) == address)


def _sentinel_client(cluster: Cluster) -> redis_py.Redis:
    from redis.sentinel import Sentinel

    tls = {"ssl": True, "ssl_ca_certs": str(cluster.ca.cert)}
    nodes = [(cluster.address(n), SENTINEL_PORT) for n in ("redis1", "redis2", "sentinel3")]
    sentinel = Sentinel(nodes, sentinel_kwargs={"socket_timeout": 1, **tls})
    return sentinel.master_for(SERVICE, username=USER, password=PASSWORD, socket_timeout=5, **tls)


def _pids_in(host: Host) -> list[int]:
    from scale.hosts import ip

    return [int(p) for p in ip("netns", "pids", host.namespace, check=False).split()]
